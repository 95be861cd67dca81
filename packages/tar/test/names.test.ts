import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeName, encodeName, fsPath, hasEscapedBytes } from '../src/names.js';

/**
 * Byte strings that stress the decoder: valid sequences of every length, cut ones, overlongs, surrogates, stray bytes.
 */
function samples(): Buffer[] {
  const pieces = [
    [0x61],
    [0x0a],
    [0x0d],
    [0x1b],
    [0xc3, 0xa9], // é
    [0xe2, 0x82, 0xac], // €
    [0xef, 0xbf, 0xbd], // a real U+FFFD
    [0xf0, 0x9f, 0x98, 0x80], // 😀, a surrogate pair in JS
    [0xf0, 0x9f, 0x82, 0x80], // U+1F080: its low surrogate is U+DC80
    [0xff],
    [0xfe],
    [0xe9],
    [0x80],
    [0xbf],
    [0xc0, 0xaf], // overlong '/'
    [0xe0, 0x80, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // an encoded surrogate (CESU)
    [0xed, 0xb2, 0x80], // an encoded U+DC80
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xf5, 0x80, 0x80, 0x80],
    [0xe2, 0x82], // cut short
    [0xf0, 0x9f, 0x98],
  ];
  const out = pieces.map((p) => Buffer.from(p));
  for (let b = 0; b < 256; b++) out.push(Buffer.from([0x78, b, 0x79]));
  // Deterministic pseudo-random mixes of the pieces and single bytes.
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let n = 0; n < 2000; n++) {
    const parts: number[] = [];
    for (let k = next() % 8; k >= 0; k--)
      parts.push(...(next() % 3 === 0 ? [next() % 256] : pieces[next() % pieces.length]!));
    out.push(Buffer.from(parts));
  }
  return out;
}

describe('file names that are not UTF-8 (surrogateescape)', () => {
  it("decodes exactly as Python's surrogateescape does, and encodes back to the same bytes", () => {
    const inputs = samples();
    const script =
      'import sys\nfor line in sys.stdin:\n    print(bytes.fromhex(line.strip()).decode("utf-8", ' +
      '"surrogateescape").encode("utf-16-be", "surrogatepass").hex())';
    const python = execFileSync('python3', ['-c', script], {
      input: inputs.map((b) => b.toString('hex')).join('\n'),
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    inputs.forEach((bytes, i) => {
      const name = decodeName(bytes);
      expect(Buffer.from(name, 'utf16le').swap16().toString('hex'), bytes.toString('hex')).toBe(python[i]);
      expect(encodeName(name).equals(bytes), bytes.toString('hex')).toBe(true);
    });
  });

  it('finds bytes that are not UTF-8, and only lone surrogates among U+DC80–U+DCFF', () => {
    expect(hasEscapedBytes('plain')).toBe(false);
    expect(hasEscapedBytes('\uFFFD')).toBe(false);
    expect(hasEscapedBytes('\uD83C\uDC80')).toBe(false); // U+1F080, a pair whose low half is U+DC80
    expect(hasEscapedBytes('a\uDCFFb')).toBe(true);
    expect(fsPath('/tmp/x\n')).toBe('/tmp/x\n');
    expect(fsPath('/tmp/bad-\uDCFF')).toEqual(Buffer.from('/tmp/bad-\xff', 'latin1'));
  });

  it('keeps a real U+FFFD and decodes a slice of a larger buffer', () => {
    const b = Buffer.from([0x7c, 0xef, 0xbf, 0xbd, 0xff, 0x7c]);
    expect(decodeName(b, 1, 5)).toBe('\uFFFD\uDCFF');
    expect(decodeName(b, 1, 4)).toBe('\uFFFD');
  });
});
