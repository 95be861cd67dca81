// Decompression for salvage: frame by frame (zstd) or member by member (gzip), each decoded on
// its own, so a damaged one is skipped and reading goes on at the next one that decodes. Only
// `--salvage` and verify's damage report use this; the normal read path stays codec.ts.

import zlib from 'node:zlib';
import { decompress as pureZstd } from 'fzstd';
import { Readable } from 'node:stream';
import type { Piece, Span } from '@drkit/tar';
import { type Compression, decompressor } from './codec.js';
import { FrameBoundaries, ZSTD_MAGIC } from './zstd-frames.js';

export type { Piece, Span } from '@drkit/tar';

/** What salvageDecode reads: bytes, with stretches that are already known lost (age chunks that failed). */
export type Input = AsyncIterable<Buffer | { gap: Span }>;

/** Larger frames or members are not held in memory: drkit writes ≤ 1 MiB of input per frame (2 MiB before). */
const MAX_UNIT = 64 << 20;
/** Bytes looked at first for one frame or member (a stored 1 MiB block plus framing fits). */
const LOOKAHEAD = (2 << 20) + (64 << 10);

const MAGIC: Record<Compression, Buffer> = {
  zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
  gzip: Buffer.from([0x1f, 0x8b, 0x08]),
};
const SKIPPABLE_MAGIC = 0x184d2a50;
const EMPTY = Buffer.alloc(0);
const z = zlib as typeof zlib & { zstdDecompressSync?: (b: Buffer, o?: object) => Buffer; crc32(b: Buffer): number };

/** One unit decoded: its bytes and its stored length. `more`: it may end beyond what is buffered. */
type Unit = { out: Buffer; used: number } | 'bad' | 'more';

/**
 * Decodes `input` unit by unit. A unit that does not decode (or, for stored zstd frames and gzip
 * members, whose length or CRC does not match) becomes a gap up to the next unit that does.
 * Offsets are the input's; `stored` maps them to the stored blob's (identity when not encrypted).
 */
export async function* salvageDecode(
  input: Input,
  c: Compression,
  stored: (offset: number) => number = (n) => n,
  maxUnit = MAX_UNIT,
): AsyncGenerator<Piece> {
  const w = new Window(input);
  const span = (start: number, end: number): Span => ({ start: stored(start), end: stored(end) });
  const attempt = async (at: number): Promise<{ out: Buffer; used: number } | 'large' | undefined> => {
    for (let want = at + LOOKAHEAD; ; want *= 2) {
      await w.fill(want);
      const unit = (c === 'zstd' ? zstdUnit : gzipUnit)(w.bytes().subarray(at), w.runEnded);
      if (unit !== 'more') return unit === 'bad' ? undefined : unit;
      if (w.runEnded) return undefined;
      if (want > maxUnit) return 'large';
    }
  };
  let damaged: number | undefined; // where the stretch that did not decode began
  let from = 0; // where in the window to look for the next unit once damaged
  for (;;) {
    await w.fill(1);
    if (w.length === 0) {
      const gap = w.takeGap();
      if (gap) {
        damaged ??= gap.start;
        continue;
      }
      if (damaged !== undefined) yield { gap: span(damaged, w.start) };
      return;
    }
    if (damaged === undefined) {
      const unit = await attempt(0);
      if (unit === 'large') {
        const start = w.start;
        if (!(yield* streamed(w, c, span))) damaged = start;
        continue;
      }
      if (unit) {
        if (unit.out.length > 0) yield { data: unit.out, from: span(w.start, w.start + unit.used) };
        w.consume(unit.used);
        continue;
      }
      damaged = w.start;
      from = 1;
    }
    const at = w.bytes().indexOf(MAGIC[c], from);
    if (at < 0) {
      // Keep a tail that could be the start of a magic number cut by the end of the window.
      w.consume(w.runEnded ? w.length : Math.max(0, w.length - MAGIC[c].length + 1));
      if (!w.runEnded) await w.fill(w.length + LOOKAHEAD);
      from = 0;
      continue;
    }
    const unit = await attempt(at);
    if (!unit || unit === 'large') {
      from = at + 1;
      continue;
    }
    yield { gap: span(damaged, w.start + at) };
    damaged = undefined;
    w.consume(at);
    if (unit.out.length > 0) yield { data: unit.out, from: span(w.start, w.start + unit.used) };
    w.consume(unit.used);
  }
}

/**
 * A frame too large to hold (one frame for a whole archive: GNU tar | zstd, or drkit before it
 * wrote blocks) is decoded as a stream to the end of the run, as a normal read would: up to the
 * damage, if any. False when it does not decode to the end.
 */
async function* streamed(
  w: Window,
  c: Compression,
  span: (start: number, end: number) => Span,
): AsyncGenerator<Piece, boolean> {
  async function* rest(): AsyncGenerator<Buffer> {
    while (w.length > 0) {
      const bytes = Buffer.from(w.bytes());
      w.consume(bytes.length);
      yield bytes;
      await w.fill(LOOKAHEAD);
    }
  }
  const from = span(w.start, w.start); // where in the frame each piece lies is not known
  let ok = true;
  try {
    for await (const data of Readable.from(rest()).pipe(decompressor(c))) yield { data: data as Buffer, from };
  } catch {
    ok = false; // what follows the damage in this frame cannot be decoded
  }
  while (w.length > 0) {
    w.consume(w.length);
    await w.fill(LOOKAHEAD);
  }
  return ok;
}

function zstdUnit(b: Buffer, runEnded: boolean): Unit {
  if (b.length < 6) return runEnded ? 'bad' : 'more';
  const magic = b.readUInt32LE(0);
  const skippable = (magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC;
  if (magic !== ZSTD_MAGIC && !skippable) return 'bad';
  const end = new FrameBoundaries().ends(b)[0];
  if (end === undefined) {
    // A frame that states its size is no longer than that plus its headers: block headers walked past it are damage,
    // not a large frame.
    const stated = !skippable && b.length >= 18 ? frameHeader(b)?.contentSize : undefined;
    if (stated !== undefined && b.length > longestFrame(stated)) return 'bad';
    return runEnded ? 'bad' : 'more';
  }
  if (skippable) return { out: EMPTY, used: end };
  const header = frameHeader(b);
  if (!header || !blocksWithinLimits(b.subarray(0, end))) return 'bad';
  let out: Buffer;
  try {
    const frame = b.subarray(0, end);
    out = z.zstdDecompressSync
      ? z.zstdDecompressSync(frame, { maxOutputLength: MAX_UNIT })
      : Buffer.from(pureZstd(frame));
  } catch {
    return 'bad';
  }
  // drkit's stored frames state their size; raw blocks decode whatever their bytes are, so this is their only check.
  if (header.contentSize !== undefined && out.length !== header.contentSize) return 'bad';
  return { out, used: end };
}

/**
 * Every block within zstd's limits (at most 128 KiB, no reserved type). Raw blocks decode whatever
 * their bytes are, and a lenient decoder stops at the stated size, so a damaged block header is
 * caught only here.
 */
function blocksWithinLimits(frame: Buffer): boolean {
  const d = frame[4]!;
  const single = (d & 0x20) !== 0;
  let at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][d & 3]! + [single ? 1 : 0, 2, 4, 8][d >> 6]!;
  for (;;) {
    if (at + 3 > frame.length) return false;
    const b = frame.readUIntLE(at, 3);
    const type = (b >> 1) & 3;
    const size = b >>> 3;
    if (type === 3 || size > 131_072) return false;
    at += 3 + (type === 1 ? 1 : size);
    if (b & 1) return true;
  }
}

/**
 * The most bytes a frame of `size` decoded bytes can take: encoders store a block raw rather than let it grow (header
 * 18, a 3-byte header per 128 KiB block, checksum 4).
 */
function longestFrame(size: number): number {
  return 18 + size + 3 * (Math.ceil(size / 131_072) + 1) + 4;
}

/** The frame header's content size, when stated; undefined when the header is not one drkit can decode in memory. */
function frameHeader(b: Buffer): { contentSize: number | undefined } | undefined {
  const d = b[4]!;
  const single = (d & 0x20) !== 0;
  // a window beyond zstd's default limit: damage, or not drkit's
  if (!single && 10 + (b[5]! >> 3) > 27) return undefined;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][d >> 6]!;
  if (fcsBytes === 0) return { contentSize: undefined };
  const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][d & 3]!;
  if (b.length < at + fcsBytes) return undefined;
  const size = fcsBytes === 8 ? Number(b.readBigUInt64LE(at)) : b.readUIntLE(at, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
  return size > MAX_UNIT ? undefined : { contentSize: size };
}

function gzipUnit(b: Buffer, runEnded: boolean): Unit {
  const more = runEnded ? 'bad' : 'more';
  if (b.length < 10) return more;
  const flags = b[3]!;
  if (b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8 || flags & 0xe0) return 'bad';
  let at = 10; // RFC 1952 §2.3: optional extra field, name, comment and header CRC
  if (flags & 4) {
    if (b.length < at + 2) return more;
    at += 2 + b.readUInt16LE(at);
  }
  for (const flag of [8, 16]) {
    if (!(flags & flag)) continue;
    const nul = b.indexOf(0, at);
    if (nul < 0) return more;
    at = nul + 1;
  }
  if (flags & 2) at += 2;
  if (b.length < at) return more;
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    inflated = zlib.inflateRawSync(b.subarray(at), {
      info: true,
      maxOutputLength: MAX_UNIT,
    } as zlib.ZlibOptions) as unknown as typeof inflated;
  } catch (err) {
    return (err as { code?: string }).code === 'Z_BUF_ERROR' ? more : 'bad';
  }
  const out = inflated.buffer;
  const trailer = at + inflated.engine.bytesWritten;
  if (b.length < trailer + 8) return more;
  if (b.readUInt32LE(trailer) !== z.crc32(out) || b.readUInt32LE(trailer + 4) !== out.length % 2 ** 32) return 'bad';
  return { out, used: trailer + 8 };
}

/**
 * The input's bytes from `start` on, up to the next gap or the end (a run), in one growable
 * buffer that units are decoded from and consumed at the front.
 */
class Window {
  /** Input offset of the first buffered byte. */
  start = 0;
  private buf = EMPTY;
  private from = 0;
  private to = 0;
  private gap: Span | undefined;
  private ended = false;
  private readonly it: AsyncIterator<Buffer | { gap: Span }>;

  constructor(input: Input) {
    this.it = input[Symbol.asyncIterator]();
  }

  get length(): number {
    return this.to - this.from;
  }

  /** True when nothing more joins the buffered bytes: a gap or the end of the input follows them. */
  get runEnded(): boolean {
    return this.gap !== undefined || this.ended;
  }

  bytes(): Buffer {
    return this.buf.subarray(this.from, this.to);
  }

  /** Buffers at least n bytes, or all there are up to the next gap or the end. */
  async fill(n: number): Promise<void> {
    while (this.length < n && !this.runEnded) {
      const next = await this.it.next();
      if (next.done) this.ended = true;
      else if (Buffer.isBuffer(next.value)) this.append(next.value);
      else this.gap = next.value.gap;
    }
  }

  consume(n: number): void {
    this.from += n;
    this.start += n;
  }

  /** With nothing buffered: the gap that follows, after which the next run starts. */
  takeGap(): Span | undefined {
    const gap = this.gap;
    this.gap = undefined;
    if (gap) this.start = gap.end;
    return gap;
  }

  private append(chunk: Buffer): void {
    if (this.to + chunk.length > this.buf.length) {
      const live = this.length;
      const size = live + chunk.length;
      const into = size > this.buf.length / 2 ? Buffer.allocUnsafe(Math.max(2 * size, 1 << 16)) : this.buf;
      this.buf.copy(into, 0, this.from, this.to);
      this.buf = into;
      this.from = 0;
      this.to = live;
    }
    chunk.copy(this.buf, this.to);
    this.to += chunk.length;
  }
}
