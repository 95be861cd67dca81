// A minimal POSIX (pax) tar writer: ustar headers, with a pax extended header when a name,
// link target or size does not fit, so that GNU tar, bsdtar and drkit all read it.

import { encodeName, hasEscapedBytes } from './names.js';

export type TarType = 'file' | 'dir' | 'symlink';

export interface TarHeader {
  path: string;
  type: TarType;
  mode: number;
  /** Milliseconds since the epoch; tar keeps whole seconds, the entry index keeps the rest. */
  mtime: number;
  size: number;
  uid?: number;
  gid?: number;
  linkTarget?: string;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarType, string> = { file: '0', dir: '5', symlink: '2' };
const MAX_OCTAL_SIZE = 0o77777777777;

export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

/** Zeros padding a file to a whole block: views of one shared block, which no reader writes to. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return END_OF_ARCHIVE.subarray(0, rest === 0 ? 0 : BLOCK - rest);
}

/** The header block(s) that precede an entry's content. */
export function encodeHeader(h: TarHeader): Buffer {
  const name = h.type === 'dir' ? `${h.path}/` : h.path;
  const link = h.linkTarget ?? '';
  const split = splitUstarName(name);
  const pax: Record<string, string> = {};
  // Names that are not UTF-8 go as their bytes (see names.ts), and POSIX wants them marked.
  if ((!split && hasEscapedBytes(name)) || (!fitsUstar(link, 100) && hasEscapedBytes(link))) pax.hdrcharset = 'BINARY';
  if (!split) pax.path = name;
  if (!fitsUstar(link, 100)) pax.linkpath = link;
  if (h.size > MAX_OCTAL_SIZE) pax.size = String(h.size);
  const main = ustarBlock({
    name: split?.name ?? asciiFallback(name, 100),
    prefix: split?.prefix ?? '',
    mode: h.mode & 0o7777,
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    size: h.type === 'file' ? Math.min(h.size, MAX_OCTAL_SIZE) : 0,
    mtime: Math.floor(h.mtime / 1000),
    typeflag: TYPEFLAG[h.type],
    linkname: pax.linkpath ? asciiFallback(link, 100) : link,
  });
  if (Object.keys(pax).length === 0) return main;
  const body = encodePaxRecords(pax);
  const paxHeader = ustarBlock({
    name: asciiFallback(`PaxHeaders/${name}`, 100),
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: Math.floor(h.mtime / 1000),
    typeflag: 'x',
    linkname: '',
  });
  return Buffer.concat([paxHeader, body, padding(body.length), main]);
}

function fitsUstar(s: string, max: number): boolean {
  return Buffer.byteLength(s) <= max && /^[\x20-\x7e]*$/.test(s);
}

// ustar splits a long name at a '/' into prefix (155) and name (100).
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (!/^[\x20-\x7e]*$/.test(name)) return undefined;
  if (name.length <= 100) return { name, prefix: '' };
  const trailing = name.endsWith('/') ? 1 : 0;
  for (let i = name.length - trailing - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return { name: rest, prefix };
    if (prefix.length <= 155) break;
  }
  return undefined;
}

function asciiFallback(s: string, max: number): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(0, max);
}

function encodePaxRecords(records: Record<string, string>): Buffer {
  const lines = Object.entries(records).map(([k, v]) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), encodeName(v), NEWLINE]);
    // The length prefix counts its own digits.
    let len = body.length + String(body.length).length;
    if (String(len).length !== String(body.length).length) len = body.length + String(len).length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  });
  return Buffer.concat(lines);
}

const NEWLINE = Buffer.from('\n');

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

/** What every ustar header starts from: zeros, the magic and version, and a checksum field of spaces. */
const TEMPLATE = Buffer.alloc(BLOCK);
TEMPLATE.write('        ', 148, 8, 'ascii');
TEMPLATE.write('ustar\u000000', 257, 8, 'binary');

function ustarBlock(f: UstarFields): Buffer {
  // From Node's shared 8 KiB pool: Buffer.alloc gives each header its own ArrayBuffer for the GC to track.
  const b = Buffer.allocUnsafe(BLOCK);
  TEMPLATE.copy(b);
  b.write(f.name, 0, 100, 'utf8');
  octal(b, 100, 8, f.mode);
  octal(b, 108, 8, f.uid > 0o7777777 ? 0 : f.uid);
  octal(b, 116, 8, f.gid > 0o7777777 ? 0 : f.gid);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, Math.max(0, f.mtime));
  b[156] = f.typeflag.charCodeAt(0);
  if (f.linkname) b.write(f.linkname, 157, 100, 'utf8');
  if (f.prefix) b.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  octal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/**
 * Zero-padded octal digits and a NUL, written digit by digit (no string per field); a value that
 * needs the NUL's place too gets it, as GNU tar does.
 */
function octal(b: Buffer, offset: number, width: number, value: number): void {
  const digits = value < 8 ** (width - 1) ? width - 1 : width;
  let v = Math.min(Math.floor(value), 8 ** width - 1);
  for (let i = offset + digits - 1; i >= offset; i--) {
    b[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  if (digits < width) b[offset + digits] = 0;
}
