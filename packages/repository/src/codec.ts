import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress as FzstdDecompress } from 'fzstd';
import { RepoError, RepoErrorCode } from './errors.js';

export type Compression = 'zstd' | 'gzip';
export type CompressionChoice = Compression | 'auto';

const z = zlib as typeof zlib & {
  createZstdCompress?: (opts?: object) => Transform;
  createZstdDecompress?: (opts?: object) => Transform;
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

export function compressor(c: Compression, level?: number): Transform {
  if (c === 'gzip') return zlib.createGzip({ level: level ?? 6, chunkSize: 1 << 16 });
  const params = { [z.constants.ZSTD_c_compressionLevel ?? 100]: level ?? 3 };
  return z.createZstdCompress!({ params, chunkSize: 1 << 16 });
}

export function decompressor(c: Compression): Transform {
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: 1 << 16 });
  if (z.createZstdDecompress) return z.createZstdDecompress({ chunkSize: 1 << 16 });
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
