import { BufferPool, copiedOut, lend } from './recycle.js';

const CHUNK = 64 * 1024;
const SMALL = 16 * 1024;
const NONE: readonly Buffer[] = [];

/**
 * Packs small pieces (tar headers, padding, small files, record heads) into 64 KiB chunks: every
 * chunk costs a stream round trip and a compressor call, so a 512-byte header should not cost
 * one of its own. Pieces over 16 KiB pass through uncopied, in order. Chunks are lent (see
 * recycle.ts) and come back once the compressor has copied them.
 */
export class ChunkPacker {
  private readonly spare = new BufferPool(CHUNK, 4);
  private chunk = this.spare.take();
  private used = 0;

  /** The chunks to pass on now, often none. */
  add(piece: Buffer): readonly Buffer[] {
    if (piece.length > SMALL) return this.used > 0 ? [this.take(), piece] : [piece];
    const out = this.used + piece.length > CHUNK ? [this.take()] : NONE;
    this.used += piece.copy(this.chunk, this.used);
    copiedOut(piece);
    return out;
  }

  /** What is packed so far, if anything. */
  flush(): readonly Buffer[] {
    return this.used > 0 ? [this.take()] : NONE;
  }

  private take(): Buffer {
    const whole = this.chunk;
    const full = lend(whole.subarray(0, this.used), () => this.spare.give(whole));
    this.chunk = this.spare.take();
    this.used = 0;
    return full;
  }
}
