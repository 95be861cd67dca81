import os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress as FzstdDecompress } from 'fzstd';
import { RepoError, RepoErrorCode } from './errors.js';
import { FrameByFrame } from './zstd-frames.js';

export type Compression = 'zstd' | 'gzip';
export type CompressionChoice = Compression | 'auto';

const z = zlib as typeof zlib & {
  createZstdCompress?: (opts?: object) => Transform;
  createZstdDecompress?: (opts?: object) => Transform;
  zstdCompress?: (buf: Buffer, opts: object, cb: (err: Error | null, out: Buffer) => void) => void;
  constants: typeof zlib.constants & { ZSTD_c_compressionLevel?: number };
};

/** zstd is built into node:zlib from Node 22.15; older runtimes write gzip. */
export const canWriteZstd = typeof z.createZstdCompress === 'function';

export const EXTENSIONS: Record<Compression, string> = { zstd: '.tar.zst', gzip: '.tar.gz' };

export interface CompressionDecision {
  compression: Compression;
  /** Set when the choice had to fall back, for the user to see once. */
  note?: string;
}

export function chooseCompression(choice: CompressionChoice = 'auto'): CompressionDecision {
  if (choice === 'gzip') return { compression: 'gzip' };
  if (canWriteZstd) return { compression: 'zstd' };
  const note = `zstd needs Node >= 22.15 (this is ${process.version}); writing gzip instead. Every drkit can read both.`;
  if (choice === 'zstd')
    throw new RepoError(RepoErrorCode.CODEC_UNAVAILABLE, `Cannot write zstd here: ${note}`, {
      hint: 'Run drkit on Node 22.15 or newer, or set compression: gzip (or auto).',
    });
  return { compression: 'gzip', note };
}

/**
 * A compressor whose output is one stream of the chosen format. Input is cut into blocks that
 * are compressed independently and concurrently on the libuv thread pool, then written in
 * order: concatenated zstd frames and gzip members are still one valid `.zst` / `.gz` stream
 * (RFC 8878 §3.1, RFC 1952 §2.2) for zstd -d, gzip -d, tar and every drkit reader. Input below
 * one block gives exactly one frame, as a single zlib stream would.
 */
export function compressor(c: Compression, level?: number): Transform {
  return new BlockCompress(c, level);
}

/** Block sizes: zstd -3 looks back up to 2 MiB, deflate only 32 KiB. */
const BLOCK: Record<Compression, number> = { zstd: 2 << 20, gzip: 1 << 20 };
/**
 * Blocks compressed at once while the next one fills. The thread pool (4 threads) also serves
 * file reads, so at most two (or one per core, if fewer); memory stays bounded by a few blocks.
 */
const IN_FLIGHT = Math.max(1, Math.min(2, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));

class BlockCompress extends Transform {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private readonly running: Promise<Buffer>[] = [];
  private blocks = 0;
  private readonly block: number;
  private readonly compressBlock: (buf: Buffer) => Promise<Buffer>;

  constructor(c: Compression, level?: number) {
    super();
    this.block = BLOCK[c];
    if (c === 'gzip') {
      // One output buffer per block: the default 16 KiB would cost a main-thread round trip each.
      const opts = { level: level ?? 6, chunkSize: this.block };
      this.compressBlock = (buf) => new Promise((resolve, reject) => zlib.gzip(buf, opts, (err, out) => (err ? reject(err) : resolve(out))));
    } else {
      const opts = { params: { [z.constants.ZSTD_c_compressionLevel ?? 100]: level ?? 3 }, chunkSize: this.block };
      this.compressBlock = (buf) => new Promise((resolve, reject) => z.zstdCompress!(buf, opts, (err, out) => (err ? reject(err) : resolve(out))));
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let rest = chunk;
    while (this.partBytes + rest.length >= this.block) {
      const take = this.block - this.partBytes;
      this.parts.push(rest.subarray(0, take));
      this.partBytes += take;
      rest = rest.subarray(take);
      this.startBlock();
    }
    if (rest.length) {
      this.parts.push(rest);
      this.partBytes += rest.length;
    }
    this.settle(IN_FLIGHT).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.partBytes > 0 || this.blocks === 0) this.startBlock();
    this.settle(0).then(() => done(), done);
  }

  private startBlock(): void {
    const buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    this.blocks++;
    const p = this.compressBlock(buf);
    p.catch(() => {}); // awaited in order by settle(); this only keeps a later failure from being unhandled
    this.running.push(p);
  }

  /** Passes finished blocks on, in order, until at most `keep` are still running. */
  private async settle(keep: number): Promise<void> {
    while (this.running.length > keep) {
      const out = await this.running[0]!;
      this.running.shift();
      this.push(out);
    }
  }
}

/** Output chunks of 256 KiB: with 64 KiB ones, per-chunk callbacks made inflating ~40 % slower. */
const INFLATE_CHUNK = 1 << 18;

export function decompressor(c: Compression): Transform {
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
  if (z.createZstdDecompress) return new FrameByFrame(z.createZstdDecompress({ chunkSize: INFLATE_CHUNK }));
  return new PureZstdDecompress();
}

// Restores must work on the oldest supported Node, so zstd reading falls back to pure JavaScript.
class PureZstdDecompress extends Transform {
  private readonly inner = new FzstdDecompress((chunk) => {
    this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.inner.push(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.inner.push(new Uint8Array(0), true);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}
