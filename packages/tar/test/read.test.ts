import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from '../src/write.js';
import { TarFormatError } from '../src/errors.js';
import { readTar } from '../src/read.js';
import { encodeName } from '../src/names.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-tar-read-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Every entry with the sha256 of its content, reading all of it. */
async function listAll(bytes: Buffer, size: number) {
  const out: [string, string, number, string | undefined, string][] = [];
  for await (const e of readTar(pieces(bytes, size))) {
    const chunks: Buffer[] = [];
    for await (const c of e.content) chunks.push(Buffer.from(c)); // copied: views may be reused by the caller's source
    out.push([e.name, e.type, e.size, e.linkTarget, sha(Buffer.concat(chunks))]);
  }
  return out;
}

const longDir = `${'deep-folder/'.repeat(12)}`;
const entries: (TarHeader & { data?: Buffer })[] = [
  { path: 'a', type: 'dir', mode: 0o755, mtime: 1e12, size: 0 },
  { path: 'a/empty', type: 'file', mode: 0o644, mtime: 1e12, size: 0, data: Buffer.alloc(0) },
  { path: 'a/block', type: 'file', mode: 0o644, mtime: 1e12, size: 512, data: Buffer.alloc(512, 7) },
  { path: 'a/odd', type: 'file', mode: 0o644, mtime: 1e12, size: 70_001, data: Buffer.alloc(70_001, 'xyz') },
  { path: `${longDir}файл-日本.txt`, type: 'file', mode: 0o600, mtime: 1e12, size: 3, data: Buffer.from('abc') },
  { path: 'a/link', type: 'symlink', mode: 0o777, mtime: 1e12, size: 0, linkTarget: `../${'t'.repeat(150)}` },
];

function drkitArchive(): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(encodeHeader(e), ...(e.data ? [e.data, padding(e.data.length)] : []));
  return Buffer.concat([...parts, END_OF_ARCHIVE]);
}

/** A copy of `archive` with one header field changed and that header's checksum made right again. */
function withField(archive: Buffer, header: number, offset: number, value: string): Buffer {
  const a = Buffer.from(archive);
  a.write(value, header + offset, 'latin1');
  a.fill(0x20, header + 148, header + 156);
  let sum = 0;
  for (let i = header; i < header + 512; i++) sum += a[i]!;
  a.write(`${sum.toString(8).padStart(6, '0')}\0 `, header + 148, 'latin1');
  return a;
}

describe('readTar', () => {
  it("reads drkit's archives (ustar and pax headers) whatever the chunk sizes", async () => {
    const archive = drkitArchive();
    const expected = entries.map((e) => [
      e.type === 'dir' ? `${e.path}/` : e.path,
      e.type,
      e.type === 'file' ? e.size : 0,
      e.linkTarget,
      sha(e.data ?? Buffer.alloc(0)),
    ]);
    for (const size of [1, 7, 511, 512, 513, 65_536, archive.length])
      expect(await listAll(archive, size)).toEqual(expected);
  });

  it.each(['gnu', 'pax', 'ustar', 'v7'])('reads what GNU tar writes in %s format', async (format) => {
    const tree = path.join(dir, 'tree');
    const name =
      format === 'ustar' || format === 'v7' ? 'short-name.txt' : `${'n'.repeat(120)}-${'日本'.repeat(10)}.txt`;
    await mkdir(path.join(tree, 'sub'), { recursive: true });
    await writeFile(path.join(tree, 'sub', name), 'content\n'.repeat(1000));
    await symlink(`sub/${name}`, path.join(tree, 'ln'));
    const file = path.join(dir, 'a.tar');
    execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', tree, 'sub', 'ln']);
    const got = await listAll(await readFile(file), 4096);
    expect(got).toEqual([
      ['sub/', 'dir', 0, undefined, sha(Buffer.alloc(0))],
      [`sub/${name}`, 'file', 8000, undefined, sha(Buffer.from('content\n'.repeat(1000)))],
      ['ln', 'symlink', 0, `sub/${name}`, sha(Buffer.alloc(0))],
    ]);
  });

  it.each(['gnu', 'pax', 'ustar'])(
    'reads names and link targets byte-exact from GNU tar in %s format, whatever their bytes',
    async (format) => {
      const tree = path.join(dir, 'tree');
      await mkdir(tree);
      // As bytes: Node would write U+FFFD for a string's lone surrogate.
      const names = [
        'new\nline',
        'cr\rname',
        'bad-\uDCFF',
        'e\uDCE9x',
        'real-\uFFFD',
        'esc-\x1b[31m',
        ...(format === 'ustar' ? [] : [`long-${'\uDCE9'.repeat(120)}`]),
      ];
      for (const n of names) await writeFile(Buffer.concat([Buffer.from(`${tree}/`), encodeName(n)]), encodeName(n));
      await symlink(encodeName('bad-\uDCFF'), Buffer.concat([Buffer.from(`${tree}/`), encodeName('ln-\uDCFE')]));
      const file = path.join(dir, 'a.tar');
      execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', tree, '.']);
      const got = new Map(
        (await listAll(await readFile(file), 4096)).map(([name, , , link, digest]) => [
          name.replace(/^\.\//, ''),
          { link, digest },
        ]),
      );
      for (const n of names)
        expect(got.get(n), JSON.stringify(n)).toEqual({ link: undefined, digest: sha(encodeName(n)) });
      expect(got.get('ln-\uDCFE')?.link).toBe('bad-\uDCFF');
    },
  );

  it(
    'writes names that are not UTF-8 as their bytes in pax ' + 'records marked hdrcharset=BINARY, and reads them back',
    async () => {
      const weird: TarHeader[] = [
        { path: 'bad-\uDCFF', type: 'file', mode: 0o644, mtime: 1e12, size: 0 },
        { path: 'new\nline', type: 'file', mode: 0o644, mtime: 1e12, size: 0 },
        { path: 'ln', type: 'symlink', mode: 0o777, mtime: 1e12, size: 0, linkTarget: 'e\uDCE9x' },
      ];
      const archive = Buffer.concat([...weird.map((h) => encodeHeader(h)), END_OF_ARCHIVE]);
      // Each entry's pax records, as bytes (latin1: one character per byte).
      const records = archive.toString('latin1').match(/\d+ (hdrcharset|path|linkpath)=[\s\S]*?\n(?=\d+ |\0)/g);
      expect(records).toEqual([
        '21 hdrcharset=BINARY\n',
        '14 path=bad-\xff\n',
        '17 path=new\nline\n',
        '21 hdrcharset=BINARY\n',
        '16 linkpath=e\xe9x\n',
      ]);
      expect((await listAll(archive, 100)).map(([name, , , link]) => [name, link])).toEqual([
        ['bad-\uDCFF', undefined],
        ['new\nline', undefined],
        ['ln', 'e\uDCE9x'],
      ]);
    },
  );

  it('skips what a reader leaves unread, or reads only in part', async () => {
    const names: string[] = [];
    let firstBytes = 0;
    for await (const e of readTar(pieces(drkitArchive(), 1000))) {
      names.push(e.name);
      for await (const c of e.content) {
        firstBytes += c.length;
        break; // one piece at most
      }
    }
    expect(names).toEqual(entries.map((e) => (e.type === 'dir' ? `${e.path}/` : e.path)));
    expect(firstBytes).toBeGreaterThan(0);
  });

  it.each([
    [
      'a changed header byte',
      (a: Buffer) => Buffer.concat([a.subarray(0, 1024 + 10), Buffer.from('Q'), a.subarray(1024 + 11)]),
      /bad header checksum/,
    ],
    ['a cut in the middle of a file', (a: Buffer) => a.subarray(0, 3000), /unexpected end of archive/],
    ['no end-of-archive marker', (a: Buffer) => a.subarray(0, a.length - 1024), /no end-of-archive marker/],
    [
      'a size field that is no number (checksum right)',
      (a: Buffer) => withField(a, 1024, 124, 'zzzzzzzzzzz\0'),
      /bad size field/,
    ],
  ])('fails on %s', async (_, damage, message) => {
    await expect(listAll(damage(drkitArchive()), 4096)).rejects.toThrow(TarFormatError);
    await expect(listAll(damage(drkitArchive()), 4096)).rejects.toThrow(message);
  });
});
