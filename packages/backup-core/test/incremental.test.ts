import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { appendFile, type FileHandle, open, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { Repository } from '@drkit/repository';
import { executeRestore, planRestore } from '@drkit/restore-core';
import { verifyRef } from '@drkit/integrity-verifier';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
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
  const backup = (extra: Partial<Parameters<typeof runBackup>[1]> = {}) =>
    runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test', ...extra });
  return { tree, repo, backup };
}

/** A copy of the tree as it is now, to compare a later restore with. */
function freeze(tree: string, name: string): string {
  const copy = path.join(dir, name);
  execFileSync('cp', ['-a', tree, copy]);
  return copy;
}

/**
 * Opens files as the backup does, but reads of `bad` paths fail: with EIO (a disk error, which
 * root cannot cause on a healthy disk) or by returning nothing (a short read, as when a file is
 * cut and restored while read). Only the read is faked; stat, sizes and times are the real file's.
 */
function faultyReads(bad: string[], fault: 'eio' | 'short') {
  return async (p: string): Promise<FileHandle> => {
    const fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW);
    if (!bad.includes(p)) return fh;
    return new Proxy(fh, {
      get(t, k) {
        if (k === 'read')
          return async (buffer: Buffer) => {
            if (fault === 'eio') throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
            return { bytesRead: 0, buffer };
          };
        const v = Reflect.get(t, k);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  };
}

async function restoreTree(repo: Repository, id: string, name: string, source = 'tree'): Promise<string> {
  const target = path.join(dir, name);
  await executeRestore(repo, await planRestore(repo, { snapshot: id, target, sources: [source] }));
  return target;
}

describe('incremental snapshots', () => {
  it('full → change/add/delete → incremental → incremental: each restores to the tree as it was', async () => {
    const { tree, repo, backup } = await setup();
    const full = await backup();
    const atFull = freeze(tree, 'at-full');

    await writeFile(path.join(tree, 'config/app.json'), '{"port": 4000}\n');
    await writeFile(path.join(tree, 'data/new.jsonl'), '{"id":9}\n');
    await unlink(path.join(tree, 'media/blob.bin'));
    await rm(path.join(tree, 'empty-dir'), { recursive: true });
    const inc1 = await backup();
    const atInc1 = freeze(tree, 'at-inc1');

    await appendFile(path.join(tree, 'data/feedback.jsonl'), '{"id":3}\n');
    await unlink(path.join(tree, 'data/new.jsonl'));
    await writeFile(path.join(tree, 'media/blob.bin'), 'back again');
    const inc2 = await backup();
    const atInc2 = freeze(tree, 'at-inc2');

    expect(full.snapshot.kind).toBe('full');
    expect(inc1.snapshot).toMatchObject({ kind: 'incremental', parent: full.snapshot.id, base: full.snapshot.id });
    expect(inc2.snapshot).toMatchObject({ kind: 'incremental', parent: inc1.snapshot.id, base: full.snapshot.id });
    expect(inc2.snapshot.sources[0]!.holders).toEqual([full.snapshot.id, inc1.snapshot.id].sort());

    for (const [snap, expected, name] of [
      [full, atFull, 'r-full'],
      [inc1, atInc1, 'r-inc1'],
      [inc2, atInc2, 'r-inc2'],
    ] as const)
      expect(await describeTree(await restoreTree(repo, snap.snapshot.id, name))).toEqual(await describeTree(expected));

    const reports = await verifyRef(repo, 'all');
    expect(reports.map((r) => r.ok)).toEqual([true, true, true]);
    expect(reports[2]!.sources[0]!.entries).toBe(inc2.snapshot.sources[0]!.index!.entries);
  });

  it('makes an unchanged incremental that reads no file contents and is small', async () => {
    const { repo, backup } = await setup();
    const full = await backup();
    expect(full.read.bytes).toBeGreaterThan(300_000);
    const inc = await backup();
    expect(inc.snapshot.kind).toBe('incremental');
    expect(inc.read).toEqual({ files: 0, bytes: 0 });
    const src = inc.snapshot.sources[0]!;
    expect(src.stats.bytes).toBe(full.snapshot.sources[0]!.stats.bytes);
    expect(src.archive.size).toBeLessThan(2048);
    expect((await verifyRef(repo, inc.snapshot.id))[0]!.ok).toBe(true);
  });

  it('fails verify naming the missing link when an archive the incremental depends on is deleted', async () => {
    const { tree, repo, backup } = await setup();
    const full = await backup();
    await writeFile(path.join(tree, 'config/app.json'), '{"port": 5000}\n');
    const inc = await backup();
    await rm(path.join(dir, 'repo', full.snapshot.sources[0]!.archive.key));
    const [report] = await verifyRef(repo, inc.snapshot.id);
    expect(report!.ok).toBe(false);
    expect(report!.sources[0]!.problems).toContainEqual(
      expect.objectContaining({
        kind: 'missing-link',
        message: expect.stringContaining(`snapshot ${full.snapshot.id}`),
      }),
    );
    // And a forgotten link is named too.
    await rm(path.join(dir, 'repo', 'snapshots', `${full.snapshot.id}.json`));
    const [again] = await verifyRef(repo, inc.snapshot.id);
    expect(again!.sources[0]!.problems).toContainEqual(
      expect.objectContaining({ kind: 'missing-link', message: expect.stringContaining(full.snapshot.id) }),
    );
    await expect(restoreTree(repo, inc.snapshot.id, 'r')).rejects.toMatchObject({
      code: 'RESTORE_CORRUPT',
      message: expect.stringContaining(full.snapshot.id),
    });
  });

  it('makes a full when asked, and when the last full is older than full_every', async () => {
    const { backup } = await setup();
    let now = new Date('2026-11-01T00:00:00Z');
    const clock = { now: () => now };
    expect((await backup({ clock })).snapshot.kind).toBe('full');
    now = new Date('2026-11-03T00:00:00Z');
    expect((await backup({ clock, fullEveryMs: 7 * 86_400_000 })).snapshot.kind).toBe('incremental');
    expect((await backup({ clock, full: true })).snapshot.kind).toBe('full');
    now = new Date('2026-11-11T00:00:00Z');
    const due = await backup({ clock, fullEveryMs: 7 * 86_400_000 });
    expect(due.snapshot.kind).toBe('full');
    expect(due.chain).toContain('full_every');
  });

  it('reads a file again after a read error: the next incremental holds and restores its real content', async () => {
    const { tree, repo, backup } = await setup();
    // A small file (read ahead) and one above 256 KiB (read in turn): both reading paths.
    const bad = [path.join(tree, 'data/feedback.jsonl'), path.join(tree, 'media/blob.bin')];
    const partial = await backup({ openFile: faultyReads(bad, 'eio') });
    expect(partial.status).toBe('partial');
    expect(partial.errors.map((e) => e.path).sort()).toEqual(['data/feedback.jsonl', 'media/blob.bin']);

    const next = await backup();
    expect(next.snapshot).toMatchObject({ kind: 'incremental', parent: partial.snapshot.id, status: 'complete' });
    expect(next.read.files).toBe(2);
    const entries = new Map<string, { in?: string }>();
    for await (const e of repo.readIndex(next.snapshot.sources[0]!)) entries.set(e.path, e);
    for (const rel of ['data/feedback.jsonl', 'media/blob.bin']) expect(entries.get(rel)?.in).toBeUndefined();
    expect(entries.get('config/app.json')?.in).toBe(partial.snapshot.id);
    expect(await describeTree(await restoreTree(repo, next.snapshot.id, 'r-next'))).toEqual(await describeTree(tree));
    // And the chain stays right: a third backup reuses the good copies.
    const third = await backup();
    expect(third.read.files).toBe(0);
    expect(await describeTree(await restoreTree(repo, third.snapshot.id, 'r-third'))).toEqual(await describeTree(tree));
  });

  it('reads a file again that changed while it was read, even when its times look the same afterwards', async () => {
    const { tree, repo, backup } = await setup();
    const bad = [path.join(tree, 'data/feedback.jsonl'), path.join(tree, 'media/blob.bin')];
    const first = await backup({ openFile: faultyReads(bad, 'short') });
    expect(first.status).toBe('complete');
    expect(first.warnings.filter((w) => w.kind === 'changed').map((w) => w.path)).toEqual([
      'data/feedback.jsonl',
      'media/blob.bin',
    ]);
    const next = await backup();
    expect(next.read.files).toBe(2);
    expect(await describeTree(await restoreTree(repo, next.snapshot.id, 'r-next'))).toEqual(await describeTree(tree));
  });

  it(
    'reads a small file again that changed while read even ' + 'when its finding was not kept (findings are capped)',
    async () => {
      const { tree, repo, backup } = await setup();
      const first = await backup({
        openFile: faultyReads([path.join(tree, 'data/feedback.jsonl')], 'short'),
        maxFindings: 0,
      });
      expect(first.snapshot.sources[0]!.findings).toEqual([]);
      expect(first.snapshot.sources[0]!.findingsTotal).toBeGreaterThan(0);
      const next = await backup();
      expect(next.read.files).toBe(1);
      expect(await describeTree(await restoreTree(repo, next.snapshot.id, 'r-next'))).toEqual(await describeTree(tree));
    },
  );

  it('builds on a parent of the same host and the same sources only', async () => {
    const { tree, repo, backup } = await setup();
    const other = path.join(dir, 'other');
    await makeSampleTree(other);
    const a1 = await backup({ host: 'app-1' });
    const b1 = await backup({ host: 'app-2' });
    expect(b1.snapshot).toMatchObject({ kind: 'full', host: 'app-2' });
    expect(b1.chain).toContain('host app-2');
    // A wider source set is another group: its own full, and the narrower set keeps its chain.
    const wide = await runBackup(repo, {
      sources: sourcesFromPaths([tree, other]),
      toolVersion: 'test',
      host: 'app-1',
    });
    expect(wide.snapshot.kind).toBe('full');
    const a2 = await backup({ host: 'app-1' });
    expect(a2.snapshot).toMatchObject({ kind: 'incremental', parent: a1.snapshot.id });
    const b2 = await backup({ host: 'app-2' });
    expect(b2.snapshot).toMatchObject({ kind: 'incremental', parent: b1.snapshot.id });
    const wide2 = await runBackup(repo, {
      sources: sourcesFromPaths([tree, other]),
      toolVersion: 'test',
      host: 'app-1',
    });
    expect(wide2.snapshot).toMatchObject({ kind: 'incremental', parent: wide.snapshot.id });
  });

  it(
    'starts a new chain when a source name now reads ' + 'another folder, and the old folder keeps its own chain',
    async () => {
      const { tree, repo } = await setup();
      const elsewhere = path.join(dir, 'elsewhere');
      await makeSampleTree(elsewhere);
      const at = (p: string) =>
        runBackup(repo, { sources: [{ name: 'data', type: 'files', path: p }], toolVersion: 'test' });
      const service = await at(tree);
      const adHoc = await at(elsewhere);
      expect(adHoc.snapshot.kind).toBe('full');
      expect(adHoc.chain).toBe(
        `source "data" now reads ${elsewhere}, but the newest snapshot of these sources on ` +
          `host ${service.snapshot.host} (${service.snapshot.id}) read ${tree}: a new chain starts`,
      );
      expect(adHoc.read.files).toBeGreaterThan(0);
      const again = await at(tree);
      expect(again.snapshot).toMatchObject({ kind: 'incremental', parent: service.snapshot.id });
      expect(again.read.files).toBe(0);
      expect(await describeTree(await restoreTree(repo, again.snapshot.id, 'r', 'data'))).toEqual(
        await describeTree(tree),
      );
    },
  );

  it(
    'keeps the chain of the other sources when one source ' + 'fails, and reads the failed one in full once it is back',
    async () => {
      const { tree, repo } = await setup();
      const other = path.join(dir, 'other');
      await makeSampleTree(other);
      const sources = sourcesFromPaths([tree, other]);
      const backup = () => runBackup(repo, { sources, toolVersion: 'test' });
      const full = await backup();
      await rename(other, `${other}.away`);
      const partial = await backup();
      expect(partial.snapshot).toMatchObject({ kind: 'incremental', parent: full.snapshot.id, status: 'partial' });
      expect(partial.failedSources).toEqual([
        expect.objectContaining({ name: 'other', code: 'BACKUP_SOURCE_MISSING' }),
      ]);
      expect(partial.read.files).toBe(0);
      await rename(`${other}.away`, other);
      const back = await backup();
      expect(back.snapshot).toMatchObject({ kind: 'incremental', parent: partial.snapshot.id, status: 'complete' });
      expect(back.chain).toBe(`incremental on ${partial.snapshot.id} (other failed there and is read in full)`);
      // tree's files stay where they were; other's are read again, all of them.
      expect(back.read.files).toBe(back.snapshot.sources.find((s) => s.name === 'other')!.stats.files);
      expect(await describeTree(await restoreTree(repo, back.snapshot.id, 'r-tree'))).toEqual(await describeTree(tree));
      expect(await describeTree(await restoreTree(repo, back.snapshot.id, 'r-other', 'other'))).toEqual(
        await describeTree(other),
      );
      expect((await verifyRef(repo, 'all')).map((r) => r.ok)).toEqual([true, true, true]);
    },
  );

  it(
    'waits for an exclusive lock (forget, prune) to go ' + 'away when given waitMs, and fails at once without',
    async () => {
      const { repo, backup } = await setup();
      const held = await repo.lock({ exclusive: true, purpose: 'forget --prune' });
      await expect(backup()).rejects.toMatchObject({
        code: 'REPO_LOCKED',
        message: expect.stringContaining('forget --prune'),
      });
      const started = Date.now();
      const release = setTimeout(() => void held.release(), 1500);
      try {
        const result = await backup({ waitMs: 30_000 });
        expect(result.status).toBe('complete');
        expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      } finally {
        clearTimeout(release);
        await held.release().catch(() => {});
      }
    },
  );

  it('with rehash, a file whose mtime changed but content did not is not stored again', async () => {
    const { tree, backup } = await setup();
    await backup();
    await utimes(path.join(tree, 'media/blob.bin'), 1_800_000_000, 1_800_000_000);
    const plain = await backup();
    expect(plain.read.files).toBe(1);
    await utimes(path.join(tree, 'media/blob.bin'), 1_800_000_100, 1_800_000_100);
    const rehashed = await backup({ rehash: true });
    expect(rehashed.snapshot.sources[0]!.archive.size).toBeLessThan(2048);
  });
});
