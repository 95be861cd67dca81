import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmod,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { canWriteZstd, Repository } from '@drkit/repository';
import { BackupErrorCode, openForBackup, runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { executeRestore, planRestore } from '@drkit/restore-core';
import { describeTree, makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

async function setup() {
  const tree = path.join(dir, 'tree');
  await makeSampleTree(tree);
  const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
  return { tree, repo };
}

async function indexOf(repo: Repository, id: string, source: string) {
  const snap = await repo.resolveSnapshot(id);
  const entries = [];
  for await (const e of repo.readIndex(repo.source(snap, source))) entries.push(e);
  return entries;
}

describe('runBackup', () => {
  it(
    'stops when its signal fires mid-archive: BACKUP_INTERRUPTED, ' +
      'and no snapshot, data, temp file or lock is left',
    async () => {
      const { tree, repo } = await setup();
      const abort = new AbortController();
      let partsWhenAborted = 0;
      const run = runBackup(repo, {
        sources: sourcesFromPaths([tree]),
        toolVersion: 'test',
        signal: abort.signal,
        onProgress: () => {
          if (abort.signal.aborted) return;
          partsWhenAborted = readdirSync(path.join(dir, 'repo', '.tmp')).filter((n) => n.endsWith('.part')).length;
          abort.abort(new Error('stop'));
        },
      });
      await expect(run).rejects.toMatchObject({
        code: BackupErrorCode.INTERRUPTED,
        message: expect.stringContaining('rolled back'),
      });
      expect(partsWhenAborted).toBeGreaterThan(0);
      for (const sub of ['snapshots', 'data', 'locks'])
        expect(
          readdirSync(path.join(dir, 'repo')).includes(sub) ? readdirSync(path.join(dir, 'repo', sub)) : [],
        ).toEqual([]);
      expect(readdirSync(path.join(dir, 'repo', '.tmp'))).toEqual([]);
    },
  );

  it(
    'records every entry of the tree with type, mode, mtime, ' + 'size and hash, and GNU tar extracts it identically',
    async () => {
      const { tree, repo } = await setup();
      const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });
      expect(result.status).toBe('complete');
      expect(result.errors).toEqual([]);
      const index = await indexOf(repo, result.snapshot.id, 'tree');
      const expected = await describeTree(tree);
      expect(index.map((e) => e.path)).toEqual(expected.map((e) => e.path));
      for (const [i, e] of index.entries()) {
        expect(e.type).toBe(expected[i]!.type);
        if (e.type === 'file') expect(e.sha256).toBe(expected[i]!.sha256);
        if (e.type !== 'symlink') expect(e.mode).toBe(expected[i]!.mode);
        expect(Math.round(e.mtime)).toBe(expected[i]!.mtimeMs);
      }
      const out = path.join(dir, 'out');
      await mkdir(out);
      const archive = path.join(dir, 'repo', result.snapshot.sources[0]!.archive.key);
      execFileSync('tar', [canWriteZstd ? '--zstd' : '-z', '-xpf', archive, '-C', out]);
      expect(await describeTree(out)).toEqual(expected);
    },
  );

  it('applies include and exclude globs and keeps the folders that lead to included files', async () => {
    const { tree, repo } = await setup();
    const [source] = sourcesFromPaths([tree]);
    const result = await runBackup(repo, {
      sources: [{ ...source!, include: ['data/**', 'config/*.json'], exclude: ['data/shard-1'] }],
      toolVersion: 'test',
    });
    const paths = (await indexOf(repo, result.snapshot.id, 'tree')).map((e) => e.path);
    expect(paths).toEqual(['config', 'config/app.json', 'data', 'data/app-link.json', 'data/feedback.jsonl']);
  });

  it('records invalid JSONL lines as findings with file and line, without failing the backup', async () => {
    const { tree, repo } = await setup();
    await writeFile(path.join(tree, 'data/feedback.jsonl'), '{"id":1}\n{"id":2,\n{"id":3}\n');
    const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });
    expect(result.status).toBe('complete');
    // The message names the file and line on its own; the result also says which source it is in.
    expect(result.warnings).toEqual([
      {
        kind: 'invalid-jsonl',
        source: 'tree',
        path: 'data/feedback.jsonl',
        line: 2,
        message: 'data/feedback.jsonl line 2 is not valid JSON (8 bytes)',
      },
    ]);
    expect(result.snapshot.sources[0]!.findings).toEqual(result.warnings.map(({ source: _, ...f }) => f));
    expect(result.snapshot.sources[0]!.findingsTotal).toBe(1);
  });

  it(
    'archives large files read through reused buffers ' + 'intact, and checks JSONL lines that span those reads',
    async () => {
      const { tree, repo } = await setup();
      const big = path.join(tree, 'big');
      await mkdir(big);
      // Lines of varying length, so no read (1 MiB) ends on a line boundary; two bad lines, one across a read boundary.
      const lines = Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(i % 97) }));
      let crossing = 0;
      for (let end = lines[0]!.length + 1; end <= 1 << 20; end += lines[crossing]!.length + 1) crossing++;
      lines[crossing] = `{"broken": ${'y'.repeat(200)}`;
      lines[50_000] = '{"also": broken}';
      await writeFile(path.join(big, 'events.jsonl'), `${lines.join('\n')}\n`);
      for (let i = 0; i < 3; i++) await writeFile(path.join(big, `blob-${i}.bin`), randomBytes((2 << 20) + 4321 * i));
      const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });
      expect(result.warnings.map((w) => [w.path, w.line])).toEqual([
        ['big/events.jsonl', crossing + 1],
        ['big/events.jsonl', 50_001],
      ]);
      const out = path.join(dir, 'out');
      await mkdir(out);
      execFileSync('tar', [
        canWriteZstd ? '--zstd' : '-z',
        '-xpf',
        path.join(dir, 'repo', result.snapshot.sources[0]!.archive.key),
        '-C',
        out,
      ]);
      const contents = async (root: string) => (await describeTree(root)).map((e) => [e.path, e.type, e.sha256]);
      expect(await contents(out)).toEqual(await contents(tree));
    },
  );

  it('makes a partial snapshot naming a file it could not read, and keeps everything else', async () => {
    const { tree, repo } = await setup();
    const secret = path.join(tree, 'config/secret.env');
    // Root reads any file, so the permission fault is injected through the open port.
    const openFile = async (p: string) => {
      if (p === secret) throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
      return open(p, 'r');
    };
    const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test', openFile });
    expect(result.status).toBe('partial');
    expect(result.snapshot.status).toBe('partial');
    expect(result.errors).toEqual([
      expect.objectContaining({
        kind: 'unreadable',
        path: 'config/secret.env',
        message: expect.stringContaining('permission denied'),
      }),
    ]);
    const paths = (await indexOf(repo, result.snapshot.id, 'tree')).map((e) => e.path);
    expect(paths).not.toContain('config/secret.env');
    expect(paths).toContain('config/app.json');
  });

  it('warns, without failing, about a folder, a symlink and a file deleted while the backup runs', async () => {
    const tree = path.join(dir, 'live');
    await mkdir(path.join(tree, 'a'), { recursive: true });
    await mkdir(path.join(tree, 'b/sub'), { recursive: true });
    // More files in a/ than the walk looks ahead, so it has not reached b, c-link and d.txt yet.
    const files = Array.from({ length: 24 }, (_, i) => `a/f${String(i).padStart(2, '0')}`);
    for (const f of [...files, 'b/sub/f', 'd.txt']) await writeFile(path.join(tree, f), f);
    await symlink('a/f00', path.join(tree, 'c-link'));
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    // Deleted at the first open: after the root was listed, as on a live system.
    let deleted = false;
    const openFile = async (p: string) => {
      if (!deleted) await Promise.all(['b', 'c-link', 'd.txt'].map((n) => rm(path.join(tree, n), { recursive: true })));
      deleted = true;
      return openForBackup(p);
    };
    const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test', openFile });
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('complete');
    const vanished = result.warnings.filter((w) => w.kind === 'vanished').map((w) => w.path);
    expect(vanished).toEqual(['b', 'c-link', 'd.txt']);
    expect((await indexOf(repo, result.snapshot.id, 'live')).map((e) => e.path)).toEqual(['a', ...files]);
  });

  it('reports a file swapped for a FIFO after the walk as a special file, without hanging on the open', async () => {
    const { tree, repo } = await setup();
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // The walk saw a regular file; by the time it is opened, its name leads to a FIFO with no writer.
    const swapped = path.join(tree, 'config/app.json');
    const openFile = (p: string) => openForBackup(p === swapped ? fifo : p);
    const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test', openFile });
    expect(result.status).toBe('complete');
    expect(result.warnings).toContainEqual(expect.objectContaining({ kind: 'special-file', path: 'config/app.json' }));
    const paths = (await indexOf(repo, result.snapshot.id, 'tree')).map((e) => e.path);
    expect(paths).not.toContain('config/app.json');
    expect(paths).toContain('config/secret.env');
  });

  it('warns about a file that changes while it is read', async () => {
    const { tree, repo } = await setup();
    const target = path.join(tree, 'media/blob.bin');
    // The file shrinks after drkit has stat'ed it, just before the first read.
    const openFile = async (p: string) => {
      const fh = await open(p, 'r');
      if (p !== target) return fh;
      let shrunk = false;
      return new Proxy(fh, {
        get(t, k) {
          if (k === 'read')
            return async (...args: Parameters<typeof fh.read>) => {
              if (!shrunk) await truncate(target, 10);
              shrunk = true;
              return t.read(...args);
            };
          const v = Reflect.get(t, k);
          return typeof v === 'function' ? v.bind(t) : v;
        },
      });
    };
    const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test', openFile });
    expect(result.status).toBe('complete');
    expect(result.warnings).toContainEqual(expect.objectContaining({ kind: 'changed', path: 'media/blob.bin' }));
  });

  it('follows a source root that is a symlink to a folder, and keeps the symlinks inside it as links', async () => {
    const { tree, repo } = await setup();
    const link = path.join(dir, 'current');
    await symlink(tree, link);
    const result = await runBackup(repo, { sources: sourcesFromPaths([link]), toolVersion: 'test' });
    expect(result.status).toBe('complete');
    const index = await indexOf(repo, result.snapshot.id, 'current');
    expect(index.map((e) => e.path)).toEqual((await describeTree(tree)).map((e) => e.path));
    expect(index.find((e) => e.path === 'data/app-link.json')).toMatchObject({
      type: 'symlink',
      linkTarget: '../config/app.json',
    });
    const target = path.join(dir, 'restored');
    await executeRestore(repo, await planRestore(repo, { snapshot: result.snapshot.id, target, sources: ['current'] }));
    expect(await describeTree(target)).toEqual(await describeTree(tree));
    // A root that links to a file backs up the file, under the link's name.
    const fileLink = path.join(dir, 'app.json');
    await symlink(path.join(tree, 'config/app.json'), fileLink);
    const single = await runBackup(repo, { sources: sourcesFromPaths([fileLink]), toolVersion: 'test' });
    expect(await indexOf(repo, single.snapshot.id, 'app.json')).toEqual([
      expect.objectContaining({ path: 'app.json', type: 'file', size: 15 }),
    ]);
  });

  it(
    "records the root folder's mode and mtime, and " + 'restore gives them to the folder each source lands in',
    async () => {
      const { tree, repo } = await setup();
      await chmod(tree, 0o750);
      await utimes(tree, 1_600_000_000, 1_600_000_000.25);
      const result = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });
      expect(result.snapshot.sources[0]!.root).toEqual({ mode: 0o750, mtime: 1_600_000_000_250 });
      const straight = path.join(dir, 'straight');
      await executeRestore(
        repo,
        await planRestore(repo, { snapshot: result.snapshot.id, target: straight, sources: ['tree'] }),
      );
      const under = path.join(dir, 'under');
      await executeRestore(repo, await planRestore(repo, { snapshot: result.snapshot.id, target: under }));
      for (const root of [straight, path.join(under, 'tree')]) {
        const st = await stat(root);
        expect(st.mode & 0o7777).toBe(0o750);
        expect(st.mtimeMs).toBe(1_600_000_000_250);
      }
      expect(await describeTree(straight)).toEqual(await describeTree(tree));
    },
  );

  it('refuses a missing source before writing anything, when it is the only one', async () => {
    const { repo } = await setup();
    await expect(
      runBackup(repo, { sources: sourcesFromPaths([path.join(dir, 'nope')]), toolVersion: 'test' }),
    ).rejects.toMatchObject({
      code: BackupErrorCode.SOURCE_MISSING,
    });
    expect(await repo.listSnapshots()).toEqual([]);
  });

  it(
    'records a source folder that vanishes after the check ' + 'as failed, with nothing of it left in the repository',
    async () => {
      const { tree, repo } = await setup();
      const doomed = path.join(dir, 'doomed');
      await makeSampleTree(doomed);
      let removed = false;
      // The clock is first read once the sources were checked: the folder goes between check and walk.
      const clock = {
        now: () => {
          if (!removed) execFileSync('rm', ['-rf', doomed]);
          removed = true;
          return new Date();
        },
      };
      const result = await runBackup(repo, { sources: sourcesFromPaths([tree, doomed]), toolVersion: 'test', clock });
      expect(result.status).toBe('partial');
      expect(result.failedSources).toEqual([
        expect.objectContaining({
          name: 'doomed',
          code: BackupErrorCode.SOURCE_MISSING,
          reason: `Source "doomed": ${doomed} is gone.`,
        }),
      ]);
      expect(result.snapshot.sources.map((s) => s.name)).toEqual(['tree']);
      const stored = await readdir(path.join(dir, 'repo', 'data', result.snapshot.id));
      expect(stored.sort()).toEqual(
        result.snapshot.sources
          .flatMap((s) => [s.archive.key, s.index!.key])
          .map((k) => path.basename(k))
          .sort(),
      );
    },
  );

  it('names ad-hoc sources after their folders, uniquely', () => {
    expect(sourcesFromPaths(['/srv/data', '/other/data', './config/']).map((s) => s.name)).toEqual([
      'data',
      'data-2',
      'config',
    ]);
  });

  it('reads files in bounded chunks: a 256 MiB file backs up without holding it in memory', async () => {
    const { repo } = await setup();
    const big = path.join(dir, 'big');
    await mkdir(big);
    const fh = await open(path.join(big, 'blob'), 'w');
    const chunk = Buffer.alloc(1 << 20, 7);
    for (let i = 0; i < 256; i++) await fh.write(chunk);
    await fh.close();
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const result = await runBackup(repo, {
      sources: sourcesFromPaths([big]),
      toolVersion: 'test',
      onProgress: () => {
        peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    expect(result.snapshot.sources[0]!.stats.bytes).toBe(256 << 20);
    expect(peak - before).toBeLessThan(128 << 20);
    expect((await readFile(path.join(big, 'blob'))).length).toBe(256 << 20);
  });
});
