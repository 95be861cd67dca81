// The tar side of salvage: readTar over the good stretches of a damaged archive. Where a gap or
// a bad header breaks the stream, reading starts again at the next header the caller trusts.

import { TarFormatError } from './errors.js';
import { readTar, type TarEntry } from './read.js';

/** Byte offsets [start, end) of a stored blob. */
export interface Span {
  start: number;
  end: number;
}

/** Decoded bytes of one frame or member, with where it is stored; or a stretch that could not be decoded. */
export type Piece = { data: Buffer; from: Span } | { gap: Span };

export interface SalvagedTarEntry extends TarEntry {
  /** The stored bytes its header and content came from (frames), complete once its content is read. */
  stored: Span;
}

/** A header found after damage is used only when the caller expects that entry (name, type, size). */
export type Trusted = (entry: TarEntry) => boolean;

const USTAR = Buffer.from('ustar'); // at offset 257 of every ustar, pax and GNU header
const MAGIC_AT = 257;
/** Bytes a candidate's header chain (pax or GNU long-name headers, then its own) must fit in. */
const CANDIDATE = 64 * 1024;
const EMPTY = Buffer.alloc(0);

type Data = { data: Buffer; from: Span };

/**
 * Entries of a damaged tar stream (see readTar), in order, skipping what damage made unreadable.
 * An entry's content throws TarFormatError when it runs into a gap. `onDamage` is told each
 * stretch found damaged: gaps, and the frame a bad header was read from.
 */
export async function* salvageTar(
  pieces: AsyncIterable<Piece>,
  trusted: Trusted,
  onDamage: (span: Span) => void,
): AsyncGenerator<SalvagedTarEntry> {
  const runs = new Runs(pieces, onDamage);
  for (let first = true; ; first = false) {
    if (!first && !(await findHeader(runs, trusted))) return;
    try {
      for await (const e of readTar(runs.run())) {
        const stored = { ...runs.current!.from };
        yield { ...e, content: tracked(e.content, stored, runs), stored };
      }
      if (!(await runs.more())) return; // the end-of-archive marker, and nothing after it
    } catch (err) {
      if (!(err instanceof TarFormatError)) throw err;
      if (!runs.cut && runs.current) onDamage(runs.current.from);
    }
  }
}

async function* tracked(content: AsyncIterable<Buffer>, stored: Span, runs: Runs): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of content) {
      stored.end = runs.current!.from.end;
      yield chunk;
    }
  } catch (err) {
    throw err instanceof TarFormatError && runs.cut ? new TarFormatError('its content runs into a damaged block') : err;
  }
}

/**
 * Finds the next header `trusted` accepts: in the piece a failure happened in (from its start:
 * headers before the failure name entries already read, which the caller no longer trusts) and
 * the pieces after it, across gaps. Puts the bytes from that header on back for readTar.
 */
async function findHeader(runs: Runs, trusted: Trusted): Promise<boolean> {
  let buf = runs.cut ? EMPTY : (runs.current?.data ?? EMPTY);
  let from = runs.current?.from ?? { start: 0, end: 0 };
  let gap: Piece | 'end' | undefined; // ends the bytes in buf: nothing joins them
  let pos = 0; // no header starts in buf before this
  for (;;) {
    const idx = buf.indexOf(USTAR, pos + MAGIC_AT);
    const h = idx - MAGIC_AT;
    if (idx >= 0 && (buf.length >= h + CANDIDATE || gap)) {
      if (await trustedAt(buf.subarray(h, h + CANDIDATE), trusted)) {
        if (gap && gap !== 'end') runs.putBack(gap);
        runs.putBack({ data: buf.subarray(h), from });
        return true;
      }
      pos = h + 1;
      continue;
    }
    if (gap) {
      buf = EMPTY; // the gap's bytes are searched; what follows it starts afresh
      gap = undefined;
    }
    const next = await runs.next();
    if (!next) {
      if (buf.length === 0) return false;
      gap = 'end';
      continue;
    }
    if ('gap' in next) {
      runs.damaged(next.gap);
      gap = next;
      continue;
    }
    // Keep what could be the start of a header cut by the end of the buffer.
    const keep = buf.subarray(idx >= 0 ? h : Math.max(pos, buf.length - 512));
    buf = keep.length ? Buffer.concat([keep, next.data]) : next.data;
    from = next.from;
    runs.current = next;
    pos = 0;
  }
}

/** Whether the header chain at the start of `bytes` describes an entry the caller expects. */
async function trustedAt(bytes: Buffer, trusted: Trusted): Promise<boolean> {
  try {
    for await (const e of readTar(once(bytes))) return trusted(e);
  } catch {
    // not a header, or not a whole one
  }
  return false;
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** The decoded pieces, handed to readTar one run (stretch between gaps) at a time. */
class Runs {
  /** The last piece of data handed out. */
  current: Data | undefined;
  /** True when the last run ended at a gap, not at the end. */
  cut = false;
  private readonly back: Piece[] = [];
  private readonly it: AsyncIterator<Piece>;

  constructor(
    pieces: AsyncIterable<Piece>,
    private readonly onDamage: (span: Span) => void,
  ) {
    this.it = pieces[Symbol.asyncIterator]();
  }

  async next(): Promise<Piece | undefined> {
    const back = this.back.pop();
    if (back) return back;
    const next = await this.it.next();
    return next.done ? undefined : next.value;
  }

  putBack(piece: Piece): void {
    this.cut = false;
    this.back.push(piece);
  }

  damaged(span: Span): void {
    this.onDamage(span);
  }

  /** True when pieces follow (after an end-of-archive marker: only after damage). */
  async more(): Promise<boolean> {
    const next = await this.next();
    if (next) this.back.push(next);
    return next !== undefined;
  }

  /** Data up to the next gap (told to onDamage) or the end. */
  async *run(): AsyncGenerator<Buffer> {
    this.cut = false;
    for (;;) {
      const next = await this.next();
      if (!next) return;
      if ('gap' in next) {
        this.onDamage(next.gap);
        this.cut = true;
        return;
      }
      this.current = next;
      yield next.data;
    }
  }
}
