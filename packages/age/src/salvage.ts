import { AgeError } from './errors.js';
import { type ParsedHeader, parseHeader, unlockHeader } from './header.js';
import type { AgeIdentity } from './keys.js';
import { hkdf, open } from './primitives.js';
import { CHUNK, chunkNonce } from './stream.js';

const SEALED = CHUNK + 16;

/** An age file opened chunk by chunk for salvage. */
export interface OpenedChunks {
  /** The plaintext; each chunk that fails authentication is a `gap` of plaintext offsets instead. */
  chunks: AsyncGenerator<Buffer | { gap: { start: number; end: number } }>;
  /** The stored offset of a plaintext offset. */
  stored(offset: number): number;
}

/**
 * Opens an age file for salvage: STREAM seals each 64 KiB chunk on its own, with its counter as
 * the nonce, so a chunk that fails authentication is skipped and the chunks after it still open.
 * A damaged header (or nonce) loses everything: it holds the only copy of the file key. A wrong
 * identity is not damage and throws, through `wrap`.
 */
export function openChunks(
  raw: AsyncIterable<Buffer>,
  identities: readonly AgeIdentity[],
  wrap: (e: AgeError) => Error,
): OpenedChunks {
  let payload = 0; // stored offset of the first sealed chunk
  let whole = false; // the header is damaged: offsets are the stored ones
  async function* chunks(): AsyncGenerator<Buffer | { gap: { start: number; end: number } }> {
    const it = raw[Symbol.asyncIterator]();
    let buf: Buffer = Buffer.alloc(0);
    let total = 0;
    let ended = false;
    const more = async (): Promise<boolean> => {
      const next = await it.next();
      if (next.done) ended = true;
      else {
        buf = buf.length ? Buffer.concat([buf, next.value]) : next.value;
        total += next.value.length;
      }
      return !ended;
    };
    const unusable = async function* () {
      while (await more()) buf = Buffer.alloc(0);
      whole = true;
      yield { gap: { start: 0, end: total } };
    };
    let header: ParsedHeader | undefined;
    let key: Buffer;
    try {
      for (header = parseHeader(buf); !header; header = parseHeader(buf)) if (!(await more())) return yield* unusable();
      const fileKey = await unlockHeader(header, identities);
      while (buf.length < header.length + 16) if (!(await more())) return yield* unusable();
      key = hkdf(fileKey, buf.subarray(header.length, header.length + 16), 'payload');
    } catch (err) {
      if (!(err instanceof AgeError) || err.reason === 'no-identity-matched' || err.reason === 'bad-passphrase')
        throw err instanceof AgeError ? wrap(err) : err;
      return yield* unusable();
    }
    payload = header.length + 16;
    buf = buf.subarray(payload);
    for (let counter = 0; ; counter++) {
      // Only a chunk with bytes after it is known not to be the last.
      while (buf.length <= SEALED && !ended) await more();
      const last = buf.length <= SEALED;
      const sealed = buf.subarray(0, SEALED);
      const plain = open(key, chunkNonce(counter, last), sealed);
      yield plain ?? { gap: { start: counter * CHUNK, end: counter * CHUNK + Math.max(0, sealed.length - 16) } };
      buf = buf.subarray(sealed.length);
      if (last) return;
    }
  }
  return {
    chunks: chunks(),
    stored: (offset) => (whole ? offset : payload + Math.floor(offset / CHUNK) * SEALED + (offset % CHUNK)),
  };
}
