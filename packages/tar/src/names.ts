// File names as drkit holds them (docs/FORMAT.md, "File names"): a JS string in which every byte
// 0x80–0xFF that is not part of valid UTF-8 is the lone surrogate U+DC80–U+DCFF (PEP 383
// "surrogateescape"). Valid UTF-8 never decodes to one, so bytes ⇄ string is one-to-one.

/** A lone surrogate U+DC80–U+DCFF: with the `u` flag a surrogate pair is one code point and never matches. */
const ESCAPED_BYTE = /[\uDC80-\uDCFF]/u;

/** Whether a name holds bytes that are not UTF-8 (so it must reach the file system and tar as bytes). */
export function hasEscapedBytes(name: string): boolean {
  return ESCAPED_BYTE.test(name);
}

/** A name's bytes as the file system and tar hold them. */
export function encodeName(name: string): Buffer {
  if (!hasEscapedBytes(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < name.length) {
      const next = name.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // a pair: encoded with its run below
      continue;
    }
    if (c < 0xdc80 || c > 0xdcff) continue;
    if (i > from) parts.push(Buffer.from(name.slice(from, i), 'utf8'));
    parts.push(Buffer.of(c - 0xdc00));
    from = i + 1;
  }
  if (from < name.length) parts.push(Buffer.from(name.slice(from), 'utf8'));
  return Buffer.concat(parts);
}

/** A path for fs calls: the string itself, or its bytes when it holds bytes that are not UTF-8. */
export function fsPath(p: string): string | Buffer {
  return hasEscapedBytes(p) ? encodeName(p) : p;
}

/**
 * Bytes to a name. Node's own decoding is the fast path: it replaces invalid bytes with U+FFFD,
 * so only a result holding U+FFFD (rare, and maybe a real one) is decoded again byte by byte.
 */
export function decodeName(bytes: Buffer, start = 0, end = bytes.length): string {
  const fast = bytes.toString('utf8', start, end);
  return fast.includes('\uFFFD') ? decodeStrict(bytes, start, end) : fast;
}

/** Strict UTF-8 (shortest form, no surrogates, at most U+10FFFF); every other byte ≥ 0x80 becomes U+DC80–U+DCFF. */
function decodeStrict(b: Buffer, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const c = b[i]!;
    const n = sequenceLength(b, i, end);
    if (n === 0) {
      out += String.fromCharCode(c < 0x80 ? c : 0xdc00 + c);
      i++;
    } else {
      out += b.toString('utf8', i, i + n);
      i += n;
    }
  }
  return out;
}

/** The length of the valid UTF-8 sequence at `i` (Unicode Table 3-7), or 0 for a byte ≥ 0x80 that starts none. */
function sequenceLength(b: Buffer, i: number, end: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < end && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const [lo, hi] = c === 0xe0 ? [0xa0, 0xbf] : c === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const [lo, hi] = c === 0xf0 ? [0x90, 0xbf] : c === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
