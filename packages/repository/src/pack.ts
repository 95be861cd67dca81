const CHUNK = 64 * 1024;
const SMALL = 16 * 1024;
const NONE: readonly Buffer[] = [];

/**
 * Packs small pieces (tar headers, padding, small files, record heads) into 64 KiB chunks: every
 * chunk costs a stream round trip and a compressor call, so a 512-byte header should not cost
 * one of its own. Pieces over 16 KiB pass through uncopied, in order.
 */
export class ChunkPacker {
  private chunk = Buffer.allocUnsafe(CHUNK);
  private used = 0;

  /** The chunks to pass on now, often none. */
  add(piece: Buffer): readonly Buffer[] {
    if (piece.length > SMALL) return this.used > 0 ? [this.take(), piece] : [piece];
    const out = this.used + piece.length > CHUNK ? [this.take()] : NONE;
    this.used += piece.copy(this.chunk, this.used);
    return out;
  }

  /** What is packed so far, if anything. */
  flush(): readonly Buffer[] {
    return this.used > 0 ? [this.take()] : NONE;
  }

  private take(): Buffer {
    const full = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(CHUNK);
    this.used = 0;
    return full;
  }
}
