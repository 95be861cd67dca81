import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '@drkit/storage';
import { type Compression, compressor, decompressor } from './codec.js';
import { RepoError, RepoErrorCode } from './errors.js';
import type { BlobRef } from './format.js';
import { HashingStream } from './hashing.js';

/**
 * Compresses a stream into the store under `key`, returning its size and sha256 as stored.
 * `seal` (encryption) runs after compression, so the digest is of the bytes as stored.
 */
export async function putCompressed(
  store: BlobStore,
  key: string,
  source: Readable,
  compression: Compression,
  seal?: { transform: () => Transform; encryption: 'age' },
): Promise<BlobRef> {
  const hasher = new HashingStream();
  const piping = seal
    ? pipeline(source, compressor(compression), seal.transform(), hasher)
    : pipeline(source, compressor(compression), hasher);
  const putting = store.put(key, hasher);
  // Whichever side fails first must stop the other, so nothing waits forever.
  piping.catch((err) => hasher.destroy(err));
  putting.catch((err) => source.destroy(err));
  const [, info] = await Promise.all([piping, putting]);
  return {
    key,
    size: info.size,
    sha256: hasher.digest(),
    compression,
    ...(seal ? { encryption: seal.encryption } : {}),
  };
}

/**
 * Streams a blob decompressed (and decrypted by `unseal` first, when given); after the stream
 * ends, `check()` confirms size and sha256 of the bytes as stored.
 */
export async function getDecompressed(
  store: BlobStore,
  ref: BlobRef,
  unseal?: () => Transform,
): Promise<{ stream: Readable; hasher: HashingStream; check: () => void }> {
  const raw = await store.get(ref.key);
  const hasher = new HashingStream();
  const out = decompressor(ref.compression);
  raw.on('error', (e) => hasher.destroy(e));
  if (unseal) {
    const opener = unseal();
    hasher.on('error', (e) => opener.destroy(e));
    opener.on('error', (e) => out.destroy(e));
    raw.pipe(hasher).pipe(opener).pipe(out);
  } else {
    hasher.on('error', (e) => out.destroy(e));
    raw.pipe(hasher).pipe(out);
  }
  // A reader that stops early must not leave the blob (a file, an HTTP response) open.
  out.on('close', () => raw.destroy());
  const check = () => {
    if (hasher.bytes !== ref.size || hasher.digest() !== ref.sha256)
      throw new RepoError(
        RepoErrorCode.DIGEST_MISMATCH,
        `${ref.key} is damaged: expected ${ref.size} bytes with sha256 ${ref.sha256.slice(0, 12)}…, ` +
          `found ${hasher.bytes} bytes with sha256 ${hasher.digest().slice(0, 12)}….`,
        { hint: 'Restore from another snapshot or another copy of the repository.', details: { key: ref.key } },
      );
  };
  return { stream: out, hasher, check };
}

/** Hashes a blob as stored, without decompressing it. */
export async function digestBlob(store: BlobStore, key: string): Promise<{ size: number; sha256: string }> {
  const hasher = new HashingStream();
  await pipeline(await store.get(key), hasher, new Writable({ write: (_chunk, _enc, done) => done() }));
  return { size: hasher.bytes, sha256: hasher.digest() };
}

export async function readSmallBlob(store: BlobStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function bufferStream(buf: Buffer): Readable {
  return Readable.from([buf]);
}
