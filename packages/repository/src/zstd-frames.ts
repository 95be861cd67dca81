import { Transform, type TransformCallback } from 'node:stream';

export const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50; // 0x184D2A50..5F (RFC 8878 §3.1.2)

type Field = 'magic' | 'descriptor' | 'header' | 'block' | 'checksum' | 'skippable-size' | 'opaque';

/**
 * Where the frames of a zstd stream end, fed chunk by chunk (RFC 8878 §3.1: a stream is frames
 * back to back). Only headers are read; block contents are skipped by their sizes.
 */
export class FrameBoundaries {
  private field: Field = 'magic';
  private need = 4;
  private readonly head = Buffer.alloc(8);
  private got = 0;
  private skip = 0;
  private afterSkip: 'block' | 'end' | 'checksum' = 'end';
  private checksum = false;

  /** Offsets in `chunk` just past each frame that ends in it. */
  ends(chunk: Buffer): number[] {
    const ends: number[] = [];
    let pos = 0;
    while (pos < chunk.length && this.field !== 'opaque') {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        pos += n;
        this.skip -= n;
        if (this.skip === 0 && this.skipped()) ends.push(pos);
        continue;
      }
      const n = Math.min(this.need - this.got, chunk.length - pos);
      chunk.copy(this.head, this.got, pos, pos + n);
      this.got += n;
      pos += n;
      if (this.got < this.need) break;
      this.got = 0;
      if (this.parsed()) ends.push(pos);
    }
    return ends;
  }

  /** Handles a complete header field; true when a frame ended with it. */
  private parsed(): boolean {
    const h = this.head;
    switch (this.field) {
      case 'magic': {
        const magic = h.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) return this.next('descriptor', 1);
        if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) return this.next('skippable-size', 4);
        // Not zstd: the decoder says so; nothing more is cut.
        this.field = 'opaque';
        return false;
      }
      case 'descriptor': {
        const d = h[0]!;
        const single = (d & 0x20) !== 0;
        this.checksum = (d & 0x04) !== 0;
        const fcs = [single ? 1 : 0, 2, 4, 8][d >> 6]!;
        const rest = (single ? 0 : 1) + [0, 1, 2, 4][d & 3]! + fcs;
        return rest > 0 ? this.next('header', rest) : this.next('block', 3);
      }
      case 'header':
        return this.next('block', 3);
      case 'block': {
        const b = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        const last = (b & 1) !== 0;
        const type = (b >> 1) & 3;
        this.afterSkip = !last ? 'block' : this.checksum ? 'checksum' : 'end';
        this.skip = type === 1 ? 1 : b >>> 3; // an RLE block stores one byte
        return this.skip === 0 && this.skipped();
      }
      case 'skippable-size':
        this.afterSkip = 'end';
        this.skip = h.readUInt32LE(0);
        return this.skip === 0 && this.skipped();
      default: // checksum
        this.next('magic', 4);
        return true;
    }
  }

  /** After a block's or skippable frame's content; true when the frame ended. */
  private skipped(): boolean {
    if (this.afterSkip === 'block') return this.next('block', 3);
    if (this.afterSkip === 'checksum') return this.next('checksum', 4);
    this.next('magic', 4);
    return true;
  }

  private next(field: Field, need: number): false {
    this.field = field;
    this.need = need;
    return false;
  }
}

/**
 * Input gathered per decoder write: each write is a round trip
 * to the thread pool, and small ones leave the decoder idle.
 */
const WRITE = 1 << 20;

/**
 * Feeds a zstd decoder one frame at a time: node:zlib's zstd stream stops decoding when a frame
 * ends inside a write while output room is left, silently dropping the frames after it
 * (nodejs/node#64741). Cutting every write at frame ends makes any stream of frames decode.
 */
export class FrameByFrame extends Transform {
  private readonly frames = new FrameBoundaries();
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly inner: Transform) {
    super();
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('error', (err) => this.destroy(err));
  }

  override _read(size: number): void {
    this.inner.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    let ok = true;
    for (const end of this.frames.ends(chunk)) {
      if (end > start) this.gather(chunk.subarray(start, end));
      start = end;
      ok = this.writeGathered() && ok;
    }
    if (start < chunk.length) this.gather(chunk.subarray(start));
    if (this.pendingBytes >= WRITE) ok = this.writeGathered() && ok;
    if (ok) done();
    else this.inner.once('drain', () => done());
  }

  override _flush(done: TransformCallback): void {
    this.writeGathered();
    this.inner.once('end', () => done());
    this.inner.end();
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.inner.destroy();
    cb(err);
  }

  private gather(piece: Buffer): void {
    this.pending.push(piece);
    this.pendingBytes += piece.length;
  }

  /** Writes what is gathered (never more than up to a frame end); false when the decoder wants a pause. */
  private writeGathered(): boolean {
    if (this.pendingBytes === 0) return true;
    const piece = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.inner.write(piece);
  }
}

/** Largest block a frame may hold (RFC 8878 §3.1.1.2.4: the smaller of the window and 128 KiB). */
const MAX_BLOCK = 128 * 1024;

/**
 * `data` as one zstd frame of raw (stored) blocks, for data that would not compress: a
 * single-segment frame whose content size is stated, so the window is exactly the content
 * (RFC 8878 §3.1.1.1), and no checksum, like node:zlib's frames. 7 bytes of framing per 128 KiB.
 * Returned as pieces in order: small header buffers, and views of `data` itself, not copies.
 */
export function storedFrame(data: Buffer): Buffer[] {
  const blocks = Math.max(1, Math.ceil(data.length / MAX_BLOCK));
  const pieces: Buffer[] = [];
  for (let i = 0; i < blocks; i++) {
    const piece = data.subarray(i * MAX_BLOCK, (i + 1) * MAX_BLOCK);
    const head = Buffer.allocUnsafe(i === 0 ? 12 : 3);
    let at = 0;
    if (i === 0) {
      head.writeUInt32LE(ZSTD_MAGIC, 0);
      head[4] = (2 << 6) | 0x20; // 4-byte Frame_Content_Size, Single_Segment
      head.writeUInt32LE(data.length, 5);
      at = 9;
    }
    // Block_Type 0: raw; the last one says so
    head.writeUIntLE((piece.length << 3) | (i === blocks - 1 ? 1 : 0), at, 3);
    pieces.push(head);
    if (piece.length > 0) pieces.push(piece);
  }
  return pieces;
}
