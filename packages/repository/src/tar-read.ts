// A tar reader for what tar.ts writes (ustar, with pax extended headers) and what GNU tar and
// bsdtar write (GNU long names, base-256 sizes). Entries come one after another from one pass
// over the bytes; an entry's content is handed out as views of the decompressed chunks, with no
// stream object per entry: on an archive of small files those cost more than the files did.

const BLOCK = 512;

export interface TarEntry {
  /** As stored: folders end in '/'. */
  name: string;
  /** 'file' | 'dir' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' | 'unknown' */
  type: string;
  size: number;
  linkTarget: string | undefined;
  /** The entry's bytes; read them (or not) before asking for the next entry. */
  content: AsyncIterable<Buffer>;
}

const TYPES: Record<string, string> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'dir',
  '6': 'fifo',
};

/** A header, data or end-of-archive problem; the caller names the entry it happened at. */
export class TarFormatError extends Error {}

/** Pulls exact byte counts out of a stream of chunks. */
class Bytes {
  private chunk: Buffer = Buffer.alloc(0);
  private at = 0;
  private readonly source: AsyncIterator<Buffer>;

  constructor(input: AsyncIterable<Buffer>) {
    this.source = input[Symbol.asyncIterator]();
  }

  /** True when something is left to read. */
  private async fill(): Promise<boolean> {
    while (this.at >= this.chunk.length) {
      const r = await this.source.next();
      if (r.done) return false;
      this.chunk = r.value;
      this.at = 0;
    }
    return true;
  }

  /** Exactly `n` bytes (a view when they lie in one chunk), or undefined at a clean end of input. */
  async exactly(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    if (this.chunk.length - this.at >= n) {
      this.at += n;
      return this.chunk.subarray(this.at - n, this.at);
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) throw new TarFormatError('unexpected end of archive');
      const k = this.chunk.copy(out, got, this.at, Math.min(this.chunk.length, this.at + n - got));
      this.at += k;
      got += k;
    }
    return out;
  }

  /** The next view of at most `max` bytes. */
  async next(max: number): Promise<Buffer> {
    if (!(await this.fill())) throw new TarFormatError('unexpected end of archive');
    const k = Math.min(max, this.chunk.length - this.at);
    this.at += k;
    return this.chunk.subarray(this.at - k, this.at);
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.next(n)).length;
  }

  /** Reads whatever follows (e.g. zero padding), so that the source reaches its end. */
  async drain(): Promise<void> {
    this.at = this.chunk.length;
    while (!(await this.source.next()).done);
  }
}

/**
 * Reads the entries of a tar stream in order; throws TarFormatError on damage or truncation.
 * `wrap` turns what an entry's content throws (damage, or the source's own error) into the caller's error.
 */
export async function* readTar(input: AsyncIterable<Buffer>, wrap: (error: unknown) => unknown = (e) => e): AsyncGenerator<TarEntry> {
  const bytes = new Bytes(input);
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await bytes.exactly(BLOCK);
    if (!block) throw new TarFormatError('unexpected end of archive (no end-of-archive marker)');
    if (isZero(block)) {
      await bytes.drain(); // the second zero block, and any padding to a record size
      return;
    }
    if (checksum(block) !== octal(block, 148, 8)) throw new TarFormatError('bad header checksum');
    const flag = String.fromCharCode(block[156]!);
    // Headers that describe the next entry (a global pax header describes none that drkit reads).
    const describesNext = flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K';
    const size = headerSize(block, describesNext ? undefined : pax.size);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (describesNext) {
      const body = size > 0 ? await bytes.exactly(size) : Buffer.alloc(0);
      if (!body) throw new TarFormatError('unexpected end of archive');
      if (flag === 'x') pax = { ...pax, ...paxRecords(body) };
      else if (flag === 'L') longName = cString(body);
      else if (flag === 'K') longLink = cString(body);
      await bytes.skip(padding);
      continue;
    }
    const name = pax.path ?? longName ?? headerName(block);
    const linkname = pax.linkpath ?? longLink ?? field(block, 157, 100);
    pax = {};
    longName = longLink = undefined;
    const type = TYPES[flag] ?? 'unknown';
    const content = new EntryContent(bytes, size, wrap);
    yield { name, type, size, linkTarget: linkname || undefined, content };
    // What the consumer left unread, then the padding to the next header.
    await bytes.skip(content.left + padding);
  }
}

/** An entry's bytes, handed out as views; what is not read is skipped when the next entry is read. */
class EntryContent implements AsyncIterable<Buffer> {
  constructor(
    private readonly bytes: Bytes,
    public left: number,
    private readonly wrap: (error: unknown) => unknown,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    while (this.left > 0) {
      let view: Buffer;
      try {
        view = await this.bytes.next(this.left);
      } catch (error) {
        throw this.wrap(error);
      }
      this.left -= view.length;
      yield view;
    }
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** The sum of the header's bytes with the checksum field taken as spaces. */
function checksum(b: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += b[i]!;
  for (let i = 156; i < BLOCK; i++) sum += b[i]!;
  return sum;
}

function headerSize(b: Buffer, paxSize: string | undefined): number {
  if (paxSize !== undefined) {
    const n = Number(paxSize);
    if (!Number.isSafeInteger(n) || n < 0) throw new TarFormatError(`bad size ${JSON.stringify(paxSize)} in a pax header`);
    return n;
  }
  // GNU base-256: high bit of the first byte set, then a big-endian number.
  if (b[124]! & 0x80) {
    let n = b[124]! & 0x7f;
    for (let i = 125; i < 136; i++) n = n * 256 + b[i]!;
    if (!Number.isSafeInteger(n)) throw new TarFormatError('size too large');
    return n;
  }
  const size = octal(b, 124, 12);
  if (Number.isNaN(size)) throw new TarFormatError('bad size field');
  return size;
}

/** An octal field: digits, ended by NUL or space (leading spaces allowed); NaN when malformed. */
function octal(b: Buffer, offset: number, width: number): number {
  let i = offset;
  const end = offset + width;
  while (i < end && b[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return Number.NaN;
    n = n * 8 + (c - 0x30);
    digits++;
  }
  return digits > 0 ? n : Number.NaN;
}

function field(b: Buffer, offset: number, width: number): string {
  let end = offset;
  while (end < offset + width && b[end] !== 0) end++;
  return b.toString('utf8', offset, end);
}

function headerName(b: Buffer): string {
  const name = field(b, 0, 100);
  // POSIX ustar ("ustar\0") keeps a prefix; GNU's "ustar  " uses those bytes for other things.
  const posix = b[257] === 0x75 && b.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = posix ? field(b, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** "<length> <key>=<value>\n" records (POSIX pax); the length counts bytes. */
function paxRecords(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const space = body.indexOf(0x20, at);
    const len = space < 0 ? Number.NaN : Number(body.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= space - at || at + len > body.length) throw new TarFormatError('bad pax header');
    const record = body.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq < 0) throw new TarFormatError('bad pax header');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/** A GNU long name or link: the bytes up to the first NUL. */
function cString(body: Buffer): string {
  const nul = body.indexOf(0);
  return body.toString('utf8', 0, nul < 0 ? body.length : nul);
}
