import { createCipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AgeError } from './errors.js';
import { buildHeader, type ParsedHeader, parseHeader, unlockHeader } from './header.js';
import { type AgeIdentity, type AgeRecipient, newFileKey } from './keys.js';
import { hkdf, open } from './primitives.js';

/** age's STREAM: 64 KiB plaintext chunks, each sealed with ChaCha20-Poly1305 and a 16-byte tag. */
export const CHUNK = 64 * 1024;
const TAG = 16;
const SEALED = CHUNK + TAG;

// 11-byte big-endian chunk counter, then 1 for the last chunk and 0 for the others.
export function chunkNonce(counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 5, 6);
  n[11] = last ? 1 : 0;
  return n;
}

/** Encrypts a byte stream into an age v1 file (binary, not armored) for the recipients. */
export class AgeEncryptStream extends Transform {
  private key: Buffer | undefined;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private fill = 0;
  private counter = 0;

  constructor(
    private readonly recipients: readonly AgeRecipient[],
    /** Told each input chunk once its bytes are copied or sealed: a producer that lends its buffers takes them back. */
    private readonly copiedOut: (chunk: Buffer) => void = () => {},
  ) {
    super();
  }

  private async start(): Promise<void> {
    const fileKey = newFileKey();
    const nonce = randomBytes(16);
    this.push(await buildHeader(fileKey, this.recipients));
    this.push(nonce);
    this.key = hkdf(fileKey, nonce, 'payload');
  }

  /** Seals one chunk into `out`: ciphertext, then tag. */
  private seal(plain: Buffer, last: boolean, out: Buffer[]): void {
    const c = createCipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter++, last), { authTagLength: TAG });
    out.push(c.update(plain));
    c.final();
    out.push(c.getAuthTag());
  }

  /** One push per input chunk: two per 64 KiB (the tag alone is 16 bytes) made as many file writes downstream. */
  private pushAll(out: Buffer[]): void {
    if (out.length) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.key) {
      this.start().then(() => this._transform(chunk, _enc, done), done);
      return;
    }
    let off = 0;
    const out: Buffer[] = [];
    while (off < chunk.length) {
      // A full chunk is sealed only once more data follows: the last chunk must carry the flag.
      if (this.fill === CHUNK) {
        this.seal(this.buf, false, out);
        this.fill = 0;
      }
      const n = Math.min(CHUNK - this.fill, chunk.length - off);
      chunk.copy(this.buf, this.fill, off, off + n);
      this.fill += n;
      off += n;
    }
    this.pushAll(out);
    this.copiedOut(chunk); // every byte of it is in this.buf or sealed
    done();
  }

  override _flush(done: TransformCallback): void {
    const finish = () => {
      try {
        const out: Buffer[] = [];
        this.seal(this.buf.subarray(0, this.fill), true, out);
        this.pushAll(out);
        done();
      } catch (err) {
        done(err as Error);
      }
    };
    if (!this.key) this.start().then(finish, done);
    else finish();
  }
}

/**
 * Decrypts an age v1 file. The header is read and unlocked with the identities before any
 * plaintext is produced; every chunk is authenticated before it is passed on, and a file that
 * ends early (no final chunk) is an error, so a truncated or altered file never yields a
 * silently shortened plaintext.
 */
export class AgeDecryptStream extends Transform {
  private head: Buffer = Buffer.alloc(0);
  private header: ParsedHeader | undefined;
  private fileKey: Buffer | undefined;
  private key: Buffer | undefined;
  private rest: Buffer = Buffer.alloc(0);
  private counter = 0;

  constructor(
    private readonly identities: readonly AgeIdentity[],
    /** Turns an AgeError into the caller's own error (e.g. one naming the blob and the recipients). */
    private readonly wrapError: (e: AgeError) => Error = (e) => e,
  ) {
    super();
  }

  private fail(err: unknown, done: TransformCallback): void {
    done(err instanceof AgeError ? this.wrapError(err) : (err as Error));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.key) {
        this.payload(chunk);
        done();
        return;
      }
      this.head = this.head.length ? Buffer.concat([this.head, chunk]) : chunk;
      if (!this.header) {
        const h = parseHeader(this.head);
        if (!h) {
          done();
          return;
        }
        this.header = h;
      }
      const header = this.header;
      const unlocking = this.fileKey ? Promise.resolve(this.fileKey) : unlockHeader(header, this.identities);
      unlocking.then(
        (fileKey) => {
          this.fileKey = fileKey;
          if (this.head.length < header.length + 16) {
            done();
            return;
          }
          const nonce = this.head.subarray(header.length, header.length + 16);
          this.key = hkdf(fileKey, nonce, 'payload');
          const body = this.head.subarray(header.length + 16);
          this.head = Buffer.alloc(0);
          try {
            this.payload(body);
            done();
          } catch (err) {
            this.fail(err, done);
          }
        },
        (err) => this.fail(err, done),
      );
    } catch (err) {
      this.fail(err, done);
    }
  }

  private open(sealed: Buffer, last: boolean): Buffer {
    const out = open(this.key!, chunkNonce(this.counter, last), sealed);
    // As age does: a full chunk that opens only with the other last-chunk flag is released, then the file is refused.
    const other =
      out || sealed.length !== SEALED ? undefined : open(this.key!, chunkNonce(this.counter, !last), sealed);
    if (out || other) this.counter++;
    if (out) return out;
    if (!other)
      throw new AgeError(
        'bad-payload',
        `age payload chunk ${this.counter} failed authentication: the file was altered or truncated`,
      );
    this.push(other);
    throw new AgeError(
      'bad-payload',
      last ? 'the age file is truncated: its final chunk is missing' : 'the age file goes on after its final chunk',
    );
  }

  // Only a sealed chunk with more bytes after it is known not to be the last one, so up to one
  // chunk is held back; only the bytes of a chunk that spans two inputs are copied.
  private payload(chunk: Buffer): void {
    let off = 0;
    if (this.rest.length > 0) {
      const need = SEALED - this.rest.length;
      if (chunk.length <= need) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return;
      }
      this.push(this.open(need === 0 ? this.rest : Buffer.concat([this.rest, chunk.subarray(0, need)]), false));
      off = need;
    }
    while (chunk.length - off > SEALED) {
      this.push(this.open(chunk.subarray(off, off + SEALED), false));
      off += SEALED;
    }
    this.rest = chunk.subarray(off);
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.key)
        throw new AgeError(
          'bad-header',
          this.header ? 'the age file ends inside its header' : 'not a valid age file: it ends before its header does',
        );
      if (this.rest.length < TAG)
        throw new AgeError('bad-payload', 'the age file is truncated: its final chunk is missing');
      const plain = this.open(this.rest, true);
      if (plain.length === 0 && this.counter > 1)
        throw new AgeError('bad-payload', 'the age file ends with an empty chunk');
      this.push(plain);
      done();
    } catch (err) {
      this.fail(err, done);
    }
  }
}

export async function encryptBuffer(plain: Uint8Array, recipients: readonly AgeRecipient[]): Promise<Buffer> {
  return collect(new AgeEncryptStream(recipients), plain);
}

export async function decryptBuffer(sealed: Uint8Array, identities: readonly AgeIdentity[]): Promise<Buffer> {
  return collect(new AgeDecryptStream(identities), sealed);
}

function collect(t: Transform, input: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    t.on('data', (c: Buffer) => out.push(c));
    t.on('end', () => resolve(Buffer.concat(out)));
    t.on('error', reject);
    t.end(Buffer.from(input));
  });
}
