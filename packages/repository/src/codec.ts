import os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress as FzstdDecompress } from 'fzstd';
import { RepoError, RepoErrorCode } from './errors.js';
import { InOrder, ZstdLane } from './lanes.js';
import { BufferPool, copiedOut, lend } from './recycle.js';
import { looksIncompressible } from './incompressible.js';
import { FrameByFrame, storedFrame } from './zstd-frames.js';

export type Compression = 'zstd' | 'gzip';
export type CompressionChoice = Compression | 'auto';

const z = zlib as typeof zlib & {
  createZstdCompress?: (opts?: object) => Transform;
  createZstdDecompress?: (opts?: object) => Transform;
  constants: typeof zlib.constants & { ZSTD_c_compressionLevel?: number; ZSTD_e_end?: number };
};

/** zstd is built into node:zlib from Node 22.15; older runtimes write gzip. */
export const canWriteZstd = typeof z.createZstdCompress === 'function';

export const EXTENSIONS: Record<Compression, string> = { zstd: '.tar.zst', gzip: '.tar.gz' };

export interface CompressionDecision {
  compression: Compression;
  /** Set when the choice had to fall back, for the user to see once. */
  note?: string;
}

const ZSTD_NEEDS = `writing zstd needs Node >= 22.15 (this is ${process.version})`;

/**
 * What a backup writes. A repository that asks for zstd gets gzip
 * where zstd cannot be written, with a note, never a failed backup.
 */
export function chooseCompression(choice: CompressionChoice = 'auto'): CompressionDecision {
  if (choice === 'gzip') return { compression: 'gzip' };
  if (canWriteZstd) return { compression: 'zstd' };
  const asked = choice === 'zstd' ? 'this repository asks for zstd, but ' : '';
  return { compression: 'gzip', note: `${asked}${ZSTD_NEEDS}: writing gzip instead. Every drkit reads both.` };
}

/**
 * Refuses to create a repository that asks for zstd where it cannot be written, rather than let every backup fall back.
 */
export function checkCompressionChoice(choice: CompressionChoice): void {
  if (choice === 'zstd' && !canWriteZstd)
    throw new RepoError(
      RepoErrorCode.CODEC_UNAVAILABLE,
      `Cannot create a repository with compression zstd here: ${ZSTD_NEEDS}. Nothing was created.`,
      {
        hint:
          'Use --compression auto (zstd wherever drkit runs on Node 22.15 or newer, gzip here; every drkit ' +
          'reads both) or --compression gzip, or run drkit init on Node 22.15 or newer.',
      },
    );
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

/**
 * Block sizes. zstd -3 could look back 2 MiB, but 1 MiB frames cost 0.09 % of size on the
 * reference tree and ~7 MiB less peak RSS (block buffers, smaller contexts); deflate looks back 32 KiB.
 */
const BLOCK: Record<Compression, number> = { zstd: 1 << 20, gzip: 1 << 20 };
/**
 * Blocks compressed at once while the next one fills. The thread pool (4 threads) also serves
 * file reads, so at most two (or one per core, if fewer); memory stays bounded by a few blocks.
 */
const IN_FLIGHT = Math.max(
  1,
  Math.min(2, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
);

/** Compresses one block into one complete frame/member. */
interface BlockCodec {
  /**
   * `incompressible`: store the block as it is, framed (see looksIncompressible). `release` runs
   * once the block may be reused: when it is compressed, or for a zstd frame that holds the block
   * itself, once the stage downstream has written or copied it (lend/copiedOut).
   */
  compress(block: Buffer, incompressible: boolean, release: () => void): Promise<Buffer[]>;
  close(): void;
}

class BlockCompress extends Transform {
  private readonly block: number;
  private readonly codec: CodecUse;
  private readonly running = new InOrder<Buffer[]>();
  private filling: Buffer | undefined;
  private filled = 0;
  private blocks = 0;

  constructor(c: Compression, level?: number) {
    super();
    this.block = BLOCK[c];
    this.codec = useCodec(c, level ?? (c === 'gzip' ? 6 : 3));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    for (let at = 0; at < chunk.length; ) {
      this.filling ??= this.codec.pool.take();
      const n = chunk.copy(this.filling, this.filled, at);
      at += n;
      this.filled += n;
      if (this.filled === this.block) this.startBlock();
    }
    copiedOut(chunk);
    this.settle(IN_FLIGHT).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.filled > 0 || this.blocks === 0) this.startBlock();
    this.settle(0).then(() => {
      this.codec.release();
      done();
    }, done);
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.codec.release();
    done(err);
  }

  private startBlock(): void {
    const buf = this.filling ?? this.codec.pool.take();
    const data = buf.subarray(0, this.filled);
    this.filling = undefined;
    this.filled = 0;
    this.blocks++;
    this.running.add(this.codec.compress(data, looksIncompressible(data), () => this.codec.pool.give(buf)));
  }

  /** Passes finished blocks on, in order, until at most `keep` are still running. */
  private settle(keep: number): Promise<void> {
    return this.running.settle(keep, (out) => {
      for (const b of out) this.push(b);
    });
  }
}

/** A compressor's use of its process's shared codec and block pool. */
interface CodecUse {
  compress(block: Buffer, incompressible: boolean, release: () => void): Promise<Buffer[]>;
  /**
   * Block buffers (a filling one per compressor, plus those being compressed or written as stored frames): fresh 1 MiB
   * buffers would be churn glibc keeps as RSS.
   */
  pool: BufferPool;
  /** Idempotent; the last user's release closes the codec. */
  release(): void;
}

/**
 * Compressors running at once (an archive and its index) share one codec and one block pool: a
 * zstd lane holds a ~3.5 MiB context, and a second set of lanes would add memory, not speed,
 * since the thread pool has the same two cores to give either way.
 */
const sharing = new Map<string, { codec: BlockCodec; pool: BufferPool; users: number }>();

function useCodec(c: Compression, level: number): CodecUse {
  const key = `${c}:${level}`;
  let entry = sharing.get(key);
  if (!entry) {
    entry = {
      codec: c === 'gzip' ? gzipCodec(level, BLOCK.gzip) : zstdCodec(level),
      pool: new BufferPool(BLOCK[c], IN_FLIGHT + 2),
      users: 0,
    };
    sharing.set(key, entry);
  }
  const shared = entry;
  shared.users++;
  // A codec that failed once is not handed to later compressors; its current users still release it.
  const retire = () => sharing.get(key) === shared && sharing.delete(key);
  let released = false;
  return {
    compress: (block, incompressible, release) =>
      shared.codec.compress(block, incompressible, release).catch((err) => {
        retire();
        throw err;
      }),
    pool: shared.pool,
    release: () => {
      if (released) return;
      released = true;
      if (--shared.users > 0) return;
      retire();
      shared.codec.close();
    },
  };
}

/** Output buffer of a lane; several blocks' frames share one before a new one is allocated. */
const LANE_CHUNK = 1 << 20;

function zstdCodec(level: number): BlockCodec {
  // Ending each block with ZSTD_e_end makes it its own complete frame, which decodes without the ones before it.
  const lanes = Array.from(
    { length: IN_FLIGHT },
    () =>
      new ZstdLane(
        z.createZstdCompress!({
          params: { [z.constants.ZSTD_c_compressionLevel ?? 100]: level },
          chunkSize: LANE_CHUNK,
        }),
      ),
  );
  let next = 0;
  return {
    compress: (block, incompressible, release) => {
      if (!incompressible) return lanes[next++ % lanes.length]!.run(block).finally(release);
      // Not copied: the frame's pieces are views of the block, which comes back once they are written.
      const pieces = storedFrame(block);
      lend(pieces[pieces.length - 1]!, release);
      return Promise.resolve(pieces);
    },
    close: () => {
      for (const lane of lanes) lane.close();
    },
  };
}

function gzipCodec(level: number, block: number): BlockCodec {
  // One output buffer per block: the default 16 KiB would cost a main-thread round trip each.
  const opts = { level, chunkSize: block };
  const stored = { level: 0, chunkSize: block + 1024 };
  return {
    compress: (buf, incompressible, release) =>
      new Promise((resolve, reject) =>
        zlib.gzip(buf, incompressible ? stored : opts, (err, out) => {
          release();
          if (err) reject(err);
          else resolve([out]);
        }),
      ),
    close: () => {},
  };
}

/**
 * Output chunk sizes: each chunk is a round trip between the thread pool and the main thread
 * (64 KiB chunks made inflating ~40 % slower than 256 KiB; 1 MiB took verify of an encrypted
 * archive from 3.75 to 3.4 s). gzip stays at 256 KiB, a quarter of its 1 MiB members: a chunk
 * the size of a member would hold its data back until the member's CRC is checked, so damage
 * would be reported before the entry it hit could be named.
 */
const INFLATE_CHUNK: Record<Compression, number> = { zstd: 1 << 20, gzip: 1 << 18 };

export function decompressor(c: Compression): Transform {
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: INFLATE_CHUNK.gzip });
  if (z.createZstdDecompress) return new FrameByFrame(z.createZstdDecompress({ chunkSize: INFLATE_CHUNK.zstd }));
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
