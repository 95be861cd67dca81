import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { encodeHeader, type TarHeader } from '../src/write.js';

// Headers are read back by tar-stream, an implementation drkit does not share code with.
async function readHeaders(headers: TarHeader[]) {
  const ex = extract();
  const seen: {
    name: string;
    type: string;
    mode?: number;
    uid?: number;
    size?: number;
    mtime?: Date;
    linkname?: string | null;
  }[] = [];
  const done = (async () => {
    for await (const e of ex) {
      seen.push(e.header);
      e.resume();
    }
  })();
  // Entries without content only: a file header here says size 0, or its bytes would be expected next.
  for (const h of headers) ex.write(encodeHeader(h));
  ex.end(Buffer.alloc(1024));
  await done;
  return seen;
}

describe('encodeHeader', () => {
  it('writes fields another tar reader parses back, up to the largest value each octal field holds', async () => {
    const big = 8 ** 11 - 1; // 11 digits and a NUL
    const later = 8 ** 11 + 5; // needs all 12 places, as GNU tar writes it
    const seen = await readHeaders([
      { path: 'd', type: 'dir', mode: 0o40755, mtime: 1_700_000_000_999, size: 0, uid: 1000, gid: 1000 },
      { path: 'f', type: 'file', mode: 0o100600, mtime: big * 1000, size: 0, uid: 0o7777777 + 1 },
      { path: 'l', type: 'symlink', mode: 0o777, mtime: later * 1000, size: 0, linkTarget: 'f' },
    ]);
    expect(seen.map((h) => [h.name, h.type, h.mode, h.uid, h.mtime!.getTime() / 1000, h.linkname ?? null])).toEqual([
      ['d/', 'directory', 0o755, 1000, 1_700_000_000, null],
      ['f', 'file', 0o600, 0, big, null],
      ['l', 'symlink', 0o777, 0, later, 'f'],
    ]);
  });
});
