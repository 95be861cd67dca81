#!/usr/bin/env node
// Throughput of the age payload (ChaCha20-Poly1305 STREAM over 64 KiB chunks) on the main thread:
// drkit's node:crypto implementation, and, when the `age-encryption` package can be imported
// (AGE_ENCRYPTION=path/to/age-encryption/dist/index.js, e.g. after `npm i age-encryption` in a
// scratch folder), the pure-JavaScript one.
//   pnpm build && node bench/age-payload.mjs [MiB]
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgeDecryptStream, AgeEncryptStream, generateIdentity } from '../packages/age/dist/index.js';

const { env: ENV } = process;
const SIZE = Number(process.argv[2] ?? 256) * 2 ** 20;
const data = randomBytes(SIZE);
const rate = (ms) => `${(SIZE / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
const chunks = (buf) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += 1 << 16) yield buf.subarray(i, i + (1 << 16));
    })(),
    { objectMode: false },
  );
const sink = (parts) =>
  new Writable({
    write(c, _e, done) {
      parts?.push(c);
      done();
    },
  });

const { identity, recipient } = generateIdentity();
const parts = [];
let t = performance.now();
await pipeline(
  chunks(data),
  new AgeEncryptStream([{ type: 'X25519', publicKey: identity.publicKey, text: recipient }]),
  sink(parts),
);
const enc = performance.now() - t;
const sealedBytes = Buffer.concat(parts);
t = performance.now();
await pipeline(chunks(sealedBytes), new AgeDecryptStream([identity]), sink());
console.log(
  `node ${process.version}, ${SIZE / 2 ** 20} MiB: node:crypto (drkit)      encrypt ${rate(enc)}, ` +
    `decrypt ${rate(performance.now() - t)}`,
);

try {
  const age = await import(ENV.AGE_ENCRYPTION ?? 'age-encryption');
  const id = await age.generateX25519Identity();
  const e = new age.Encrypter();
  e.addRecipient(await age.identityToRecipient(id));
  t = performance.now();
  const sealed = await e.encrypt(data);
  const jsEnc = performance.now() - t;
  const d = new age.Decrypter();
  d.addIdentity(id);
  t = performance.now();
  await d.decrypt(sealed);
  console.log(
    `node ${process.version}, ${SIZE / 2 ** 20} MiB: age-encryption (pure JS) encrypt ${rate(jsEnc)}, ` +
      `decrypt ${rate(performance.now() - t)}`,
  );
} catch {
  console.log('age-encryption is not installed: pure-JavaScript comparison skipped');
}
