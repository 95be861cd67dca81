import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { Repository, RepoErrorCode, type IndexEntry } from '@drkit/repository';
import { asIndexEntry } from '../src/format.js';
import { lineBatches } from '../src/lines.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-index-lines-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* pieces(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function allLines(text: string, size: number): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of lineBatches(pieces(text, size))) out.push(...batch);
  return out;
}

describe('lineBatches', () => {
  it('gives the same lines whatever the chunk size, with multi-byte characters cut between chunks', async () => {
    const lines = ['{"path":"日本/файл.txt"}', '', 'x'.repeat(5000), '€', 'last line without newline'];
    const text = lines.join('\n');
    for (const size of [1, 2, 3, 7, 64, 4096, 1 << 20]) expect(await allLines(text, size)).toEqual(lines);
  });

  it('gives nothing for empty input and no empty line after a final newline', async () => {
    expect(await allLines('', 4)).toEqual([]);
    expect(await allLines('a\nb\n', 4)).toEqual(['a', 'b']);
  });
});

describe('asIndexEntry', () => {
  const good: IndexEntry = {
    path: 'a/b',
    type: 'file',
    mode: 0o644,
    mtime: 1.5,
    size: 3,
    sha256: 'ab'.repeat(32),
    ctime: 2,
    ino: 7,
    in: '20260102T030405Z-0a1b2c',
  };

  it('accepts every entry type with its optional fields', () => {
    expect(asIndexEntry(good)).toEqual(good);
    expect(asIndexEntry({ path: 'd', type: 'dir', mode: 0o755, mtime: 0, names: 0 })).toBeDefined();
    expect(asIndexEntry({ path: 'l', type: 'symlink', mode: 0o777, mtime: 0, linkTarget: 'd' })).toBeDefined();
  });

  it.each([
    ['not an object', 'text'],
    ['null', null],
    ['an array', [good]],
    ['no path', { ...good, path: undefined }],
    ['an unknown type', { ...good, type: 'fifo' }],
    ['a fractional mode', { ...good, mode: 1.5 }],
    ['a string mtime', { ...good, mtime: '1' }],
    ['a negative size', { ...good, size: -1 }],
    ['a fractional size', { ...good, size: 0.5 }],
    ['a null sha256', { ...good, sha256: null }],
    ['a numeric holder', { ...good, in: 5 }],
    ['a negative name count', { ...good, names: -2 }],
    // Numbers and ids out of their grammar (validate.ts):
    ['a mode beyond 0o7777', { ...good, mode: 0o100644 }],
    ['a negative mode', { ...good, mode: -1 }],
    ['a size beyond 2^53', { ...good, size: 2 ** 60 }],
    ['an mtime beyond a Date', { ...good, mtime: 1e300 }],
    ['a sha256 that is not 64 hex digits', { ...good, sha256: 'ab' }],
    ['an uppercase sha256', { ...good, sha256: 'AB'.repeat(32) }],
    ['a holder that is not a snapshot id', { ...good, in: '../../x' }],
    ['a file without sha256', { ...good, sha256: undefined }],
    ['a file without size', { ...good, size: undefined }],
    ['a symlink without a target', { path: 'l', type: 'symlink', mode: 0o777, mtime: 0 }],
  ])('rejects %s', (_, value) => {
    expect(asIndexEntry(value)).toBeUndefined();
  });
});

describe('readIndex', () => {
  async function withIndex(text: string) {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const w = await repo.beginSnapshot({ time: new Date('2026-01-02T03:04:05Z'), toolVersion: 'test', tags: [] });
    await w.writeSource({ name: 'files', type: 'files' }, Readable.from([]));
    const source = (await w.commit()).sources[0]!;
    const index = await repo.putBlob(source.index!.key, Readable.from([Buffer.from(text)]), source.index!.compression);
    return { repo, source: { ...source, index: { ...index, entries: 2 } } };
  }

  it('reads CRLF line ends and a last line without a newline', async () => {
    const { repo, source } = await withIndex(
      `{"path":"a","type":"dir","mode":493,"mtime":1}\r\n\r\n{"path":"a/b","type":"file","mode":420,` +
        `"mtime":2,"size":0,"sha256":"${'0'.repeat(64)}"}`,
    );
    const paths: string[] = [];
    for await (const e of repo.readIndex(source)) paths.push(e.path);
    expect(paths).toEqual(['a', 'a/b']);
  });

  it('names the line of a damaged entry', async () => {
    const { repo, source } = await withIndex(
      '{"path":"a","type":"dir","mode":493,"mtime":1}\n{"path":"a/b","type":"file","mode":"rw","mtime":2}\n',
    );
    const read = async () => {
      for await (const _ of repo.readIndex(source));
    };
    await expect(read()).rejects.toMatchObject({
      code: RepoErrorCode.BAD_METADATA,
      message: expect.stringContaining('line 2'),
    });
  });
});
