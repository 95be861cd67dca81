import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readlink, rm, stat, writeFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { canWriteZstd, KEYS, normaliseEntryPath, Repository, RepoErrorCode, type SourceItem } from '@drkit/repository';
import { FaultyStore } from './faulty-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-repo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const longName = `${'deep-folder-name/'.repeat(6)}${'x'.repeat(60)}-файл-日本.txt`;
const items = (): SourceItem[] => [
  { path: 'a', type: 'dir', mode: 0o755, mtime: 1_700_000_000_000, size: 0 },
  {
    path: 'a/hello.txt',
    type: 'file',
    mode: 0o600,
    mtime: 1_700_000_001_000,
    size: 5,
    content: async function* () {
      yield Buffer.from('hello');
    },
  },
  { path: 'a/link', type: 'symlink', mode: 0o777, mtime: 1_700_000_002_000, size: 0, linkTarget: 'hello.txt' },
  {
    path: longName,
    type: 'file',
    mode: 0o644,
    mtime: 1_700_000_003_000,
    size: 3,
    content: async function* () {
      yield Buffer.from('abc');
    },
  },
];

async function* from<T>(list: T[]): AsyncGenerator<T> {
  yield* list;
}

async function backupOne(repo: Repository) {
  const w = await repo.beginSnapshot({ time: new Date('2026-01-02T03:04:05Z'), toolVersion: 'test', tags: ['t1'] });
  await w.writeSource({ name: 'files', type: 'files' }, from(items()));
  return w.commit();
}

describe('repository format v1', () => {
  it('writes a snapshot whose archive GNU tar extracts alone, with long and non-ASCII names and symlinks', async () => {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const meta = await backupOne(repo);
    expect(meta.id).toMatch(/^20260102T030405Z-[0-9a-f]{6}$/);
    expect(meta.sources[0]!.archive.key).toBe(`data/${meta.id}/files${canWriteZstd ? '.tar.zst' : '.tar.gz'}`);
    const out = path.join(dir, 'out');
    await mkdir(out);
    const archive = path.join(dir, 'repo', ...meta.sources[0]!.archive.key.split('/'));
    execFileSync('tar', [canWriteZstd ? '--zstd' : '-z', '-xf', archive, '-C', out]);
    expect(await readFile(path.join(out, 'a/hello.txt'), 'utf8')).toBe('hello');
    expect(await readFile(path.join(out, longName), 'utf8')).toBe('abc');
    expect(await readlink(path.join(out, 'a/link'))).toBe('hello.txt');
    expect((await stat(path.join(out, 'a/hello.txt'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(out, 'a/hello.txt'))).mtimeMs).toBe(1_700_000_001_000);
  });

  it('reads back the index and the archive entries, and lists and resolves snapshots', async () => {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const meta = await backupOne(repo);
    const reopened = await Repository.open(new LocalStore(path.join(dir, 'repo')));
    expect((await reopened.listSnapshots()).map((s) => s.id)).toEqual([meta.id]);
    expect((await reopened.resolveSnapshot('latest')).id).toBe(meta.id);
    expect((await reopened.resolveSnapshot(meta.id.slice(0, 10))).id).toBe(meta.id);
    const source = reopened.source(meta, 'files');
    const index = [];
    for await (const e of reopened.readIndex(source)) index.push(e);
    expect(index.map((e) => e.path)).toEqual(['a', 'a/hello.txt', 'a/link', longName]);
    expect(index[1]!.sha256).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    const names: string[] = [];
    for await (const e of reopened.readArchive(source)) {
      names.push(e.name);
      if (e.type === 'file') {
        const chunks: Buffer[] = [];
        for await (const c of e.stream) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).length).toBe(e.size);
      }
    }
    expect(names).toEqual(['a/', 'a/hello.txt', 'a/link', longName]);
  });

  it('refuses an unknown format version and a missing repository with clear codes', async () => {
    const store = new LocalStore(path.join(dir, 'repo'));
    await expect(Repository.open(store)).rejects.toMatchObject({ code: RepoErrorCode.NOT_FOUND });
    await Repository.init(store);
    await expect(Repository.init(store)).rejects.toMatchObject({ code: RepoErrorCode.ALREADY_EXISTS });
    const cfg = JSON.parse(await readFile(path.join(dir, 'repo', KEYS.config), 'utf8'));
    await writeFile(path.join(dir, 'repo', KEYS.config), JSON.stringify({ ...cfg, format: 2 }));
    await expect(Repository.open(store)).rejects.toMatchObject({
      code: RepoErrorCode.UNSUPPORTED_FORMAT,
      message: expect.stringContaining('format version 2'),
    });
  });

  it('leaves nothing listed when a snapshot is aborted mid-way', async () => {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const w = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
    async function* dying(): AsyncGenerator<SourceItem> {
      yield items()[0]!;
      throw new Error('source died');
    }
    await expect(w.writeSource({ name: 'files', type: 'files' }, dying())).rejects.toThrow('source died');
    await w.abort();
    expect(await repo.listSnapshots()).toEqual([]);
    expect(await readdir(path.join(dir, 'repo', 'data', w.id)).catch(() => [])).toEqual([]);
  });

  it(
    'fails the source, without hanging, when the index put fails while the archive is written, and leaves no ' +
      'blob or temp file',
    async () => {
      const root = path.join(dir, 'repo');
      await Repository.init(new LocalStore(root));
      const repo = await Repository.open(new FaultyStore(root, { put: /\.index\.jsonl\./ }));
      const w = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
      // Enough entries to fill the index stream's buffer, and one file large enough to be mid-archive.
      async function* many(): AsyncGenerator<SourceItem> {
        for (let i = 0; i < 3000; i++)
          yield {
            path: `f${i}`,
            type: 'file',
            mode: 0o644,
            mtime: 1_700_000_000_000,
            size: 3,
            content: async function* () {
              yield Buffer.from('abc');
            },
          };
        yield {
          path: 'big',
          type: 'file',
          mode: 0o644,
          mtime: 1_700_000_000_000,
          size: 8 << 20,
          content: async function* () {
            for (let i = 0; i < 128; i++) yield Buffer.alloc(64 << 10, i);
          },
        };
      }
      const timeout = new Promise((_, reject) =>
        setTimeout(() => reject(new Error('writeSource still pending after 10 s')), 10_000).unref(),
      );
      await expect(Promise.race([w.writeSource({ name: 'files', type: 'files' }, many()), timeout])).rejects.toThrow(
        /injected: put .*index.* failed/,
      );
      await w.abort();
      expect(await repo.listSnapshots()).toEqual([]);
      expect(await readdir(path.join(root, 'data')).catch(() => [])).toEqual([]);
      expect(await readdir(path.join(root, '.tmp'))).toEqual([]);
    },
  );

  it('lets shared locks coexist, refuses an exclusive one while held, and clears a dead process lock', async () => {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const a = await repo.lock({ exclusive: false, purpose: 'backup' });
    const b = await repo.lock({ exclusive: false, purpose: 'backup' });
    await expect(repo.lock({ exclusive: true, purpose: 'prune' })).rejects.toMatchObject({
      code: RepoErrorCode.LOCKED,
      message: expect.stringContaining('"backup"'),
    });
    await a.release();
    await b.release();
    // A lock left by a process that no longer exists on this host is stale.
    const dead = { ...a.info, id: 'dead', pid: 2 ** 22 + 7, exclusive: true };
    await mkdir(path.join(dir, 'repo', 'locks'), { recursive: true });
    await writeFile(path.join(dir, 'repo', 'locks', 'dead.json'), JSON.stringify(dead));
    const seen: string[] = [];
    const c = await repo.lock({ exclusive: true, purpose: 'prune', onStale: (l, why) => seen.push(`${l.id}: ${why}`) });
    expect(seen[0]).toMatch(/^dead: process \d+ on this host/);
    await c.release();
  });

  it('classifies unsafe entry names', () => {
    expect(normaliseEntryPath('./a//b/')).toEqual({ path: 'a/b' });
    expect(normaliseEntryPath('../etc/passwd')).toHaveProperty('unsafe');
    expect(normaliseEntryPath('a/../../x')).toHaveProperty('unsafe');
    expect(normaliseEntryPath('/etc/passwd')).toHaveProperty('unsafe');
  });

  it(
    'keeps backslashes as part of POSIX file names, through ' + 'the writer, the index, the archive and normalisation',
    async () => {
      // On POSIX these are plain names: none of them is a folder, an absolute path or a way out.
      const names = ['back\\slash.txt', 'dir\\name', 'dir\\name/..\\x', 'C:\\y'];
      for (const n of names) expect(normaliseEntryPath(n)).toEqual({ path: n });
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
      const w = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
      const file = (p: string): SourceItem => ({
        path: p,
        type: 'file',
        mode: 0o644,
        mtime: 1_700_000_000_000,
        size: 1,
        content: async function* () {
          yield Buffer.from('x');
        },
      });
      const written = [
        file(names[0]!),
        { path: names[1]!, type: 'dir', mode: 0o755, mtime: 1_700_000_000_000, size: 0 } as SourceItem,
        file(names[2]!),
        file(names[3]!),
      ];
      await w.writeSource({ name: 'files', type: 'files' }, from(written));
      const meta = await w.commit();
      const source = repo.source(meta, 'files');
      const indexed: string[] = [];
      for await (const e of repo.readIndex(source)) indexed.push(e.path);
      const archived: string[] = [];
      for await (const e of repo.readArchive(source)) {
        const n = normaliseEntryPath(e.name);
        archived.push('path' in n ? n.path : `unsafe: ${n.unsafe}`);
      }
      expect(indexed).toEqual(names);
      expect(archived).toEqual(names);
    },
  );

  it(
    'reads zstd archives on any Node: a snapshot ' + 'recompressed with the zstd CLI reads back entry for entry',
    async () => {
      const root = path.join(dir, 'repo');
      const repo = await Repository.init(new LocalStore(root), { compression: 'gzip' });
      const meta = await backupOne(repo);
      const src = meta.sources[0]!;
      // Turn the gzip blobs into zstd blobs with the reference tool, then point the metadata at them.
      for (const ref of [src.archive, src.index!]) {
        const gz = path.join(root, ref.key);
        const zst = gz.replace(/\.gz$/, '.zst');
        execFileSync('sh', ['-c', 'gzip -dc "$1" | zstd -q -3 -o "$2"', 'sh', gz, zst]);
        const bytes = await readFile(zst);
        Object.assign(ref, {
          key: ref.key.replace(/\.gz$/, '.zst'),
          compression: 'zstd',
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        });
      }
      await writeFile(path.join(root, KEYS.snapshot(meta.id)), JSON.stringify(meta));
      const snap = await repo.resolveSnapshot(meta.id);
      const index = [];
      for await (const e of repo.readIndex(snap.sources[0]!)) index.push(e.path);
      const names = [];
      for await (const e of repo.readArchive(snap.sources[0]!)) names.push(e.name);
      expect(index).toEqual(['a', 'a/hello.txt', 'a/link', longName]);
      expect(names).toEqual(['a/', 'a/hello.txt', 'a/link', longName]);
    },
  );
});
