#!/usr/bin/env node
// What an age recipient costs per file: the header's size and the time to write it (wrap the file
// key for every recipient) and to open it (unwrap it with one identity), X25519 against the hybrid
// post-quantum mlkem768x25519, for 1 and 3 recipients. drkit pays this once per blob (an archive
// and an index per source), never per file in the tree.
//   pnpm build && node bench/age-header.mjs [files]
import { decryptBuffer, encryptBuffer, generateIdentity, parseRecipient } from '../packages/age/dist/index.js';

const FILES = Number(process.argv[2] ?? 200);
const empty = Buffer.alloc(0);
const ms = (t) => `${(t / FILES).toFixed(2)} ms`;

for (const pq of [false, true])
  for (const n of [1, 3]) {
    const keys = Array.from({ length: n }, () => generateIdentity({ pq }));
    const recipients = keys.map((k) => parseRecipient(k.recipient));
    const files = [];
    let t = performance.now();
    for (let i = 0; i < FILES; i++) files.push(await encryptBuffer(empty, recipients));
    const enc = performance.now() - t;
    t = performance.now();
    // the last stanza: every one before it is tried first
    for (const f of files) await decryptBuffer(f, [keys.at(-1).identity]);
    const dec = performance.now() - t;
    const header = files[0].indexOf('\n', files[0].indexOf('\n---') + 1) + 1; // through the MAC line
    console.log(
      `${pq ? 'mlkem768x25519' : 'X25519        '} × ${n}: header ${String(header).padStart(5)} bytes, ` +
        `write ${ms(enc)}, open ${ms(dec)} (node ${process.version}, mean of ${FILES})`,
    );
  }
