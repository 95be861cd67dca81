// A tar reader for what tar.ts writes (ustar, with pax extended headers) and what GNU tar and
// bsdtar write (GNU long names, base-256 sizes). Entries come one after another from one pass
// over the bytes; an entry's content is handed out as views of the decompressed chunks, with no
// stream object per entry: on an archive of small files those cost more than the files did.

import { ByteReader } from './byte-reader.js';
import { TarFormatError } from './errors.js';
import { decodeName } from './names.js';

const BLOCK = 512;
/** pax and GNU long-name headers hold a path and a link target (each ≤ 4 KiB, validate.ts) and a few numbers. */
const MAX_EXTENDED_HEADER = 1024 * 1024;

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

/**
 * Reads the entries of a tar stream in order; throws TarFormatError on damage or truncation.
 * `wrap` turns what an entry's content throws (damage, or the source's own error) into the caller's error.
 */
export async function* readTar(
  input: AsyncIterable<Buffer>,
  wrap: (error: unknown) => unknown = (e) => e,
): AsyncGenerator<TarEntry> {
  const bytes = new ByteReader(input);
  const exactly = async (n: number) => {
    const b = await bytes.read(n);
    if (b.length < n) throw new TarFormatError('unexpected end of archive');
    return b;
  };
  const skip = async (n: number) => {
    if (!(await bytes.skip(n))) throw new TarFormatError('unexpected end of archive');
  };
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (await bytes.atEnd()) throw new TarFormatError('unexpected end of archive (no end-of-archive marker)');
    const block = await exactly(BLOCK);
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
      // These are read whole: a damaged size must not become one huge allocation.
      if (size > MAX_EXTENDED_HEADER)
        throw new TarFormatError(`an extended header of ${size} bytes (at most ${MAX_EXTENDED_HEADER})`);
      const body = await exactly(size);
      if (flag === 'x') pax = { ...pax, ...paxRecords(body) };
      else if (flag === 'L') longName = cString(body);
      else if (flag === 'K') longLink = cString(body);
      await skip(padding);
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
    await skip(content.left + padding);
  }
}

/** An entry's bytes, handed out as views; what is not read is skipped when the next entry is read. */
class EntryContent implements AsyncIterable<Buffer> {
  constructor(
    private readonly bytes: ByteReader,
    public left: number,
    private readonly wrap: (error: unknown) => unknown,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    while (this.left > 0) {
      let view: Buffer;
      try {
        view = await this.bytes.view(this.left);
      } catch (error) {
        throw this.wrap(error);
      }
      if (view.length === 0) throw this.wrap(new TarFormatError('unexpected end of archive'));
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
    if (!Number.isSafeInteger(n) || n < 0)
      throw new TarFormatError(`bad size ${JSON.stringify(paxSize)} in a pax header`);
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
  return decodeName(b, offset, end);
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
    if (!Number.isSafeInteger(len) || len <= space - at || at + len > body.length)
      throw new TarFormatError('bad pax header');
    const eq = body.indexOf(0x3d, space + 1); // '='
    if (eq < 0 || eq >= at + len - 1) throw new TarFormatError('bad pax header');
    // Values are bytes: a name that is not UTF-8 (hdrcharset=BINARY) keeps them, as names.ts describes.
    out[body.toString('utf8', space + 1, eq)] = decodeName(body, eq + 1, at + len - 1);
    at += len;
  }
  return out;
}

/** A GNU long name or link: the bytes up to the first NUL. */
function cString(body: Buffer): string {
  const nul = body.indexOf(0);
  return decodeName(body, 0, nul < 0 ? body.length : nul);
}
