import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { generateIdentity, type IndexEntry, Repository } from '@drkit/repository';
import { executeRestore, planRestore } from '@drkit/restore-core';
import { runBackup, sourcesFromPaths, walkTree } from '@drkit/backup-core';
import { describeTree, makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

/** Folder times must be this old before a listing counts as settled (walk.ts waits 2 s). */
const SETTLE = () => sleep(2100);

async function indexOf(repo: Repository, id: string): Promise<IndexEntry[]> {
  const snap = await repo.findSnapshot(id);
  const out: IndexEntry[] = [];
  for await (const e of repo.readIndex(snap!.sources[0]!)) out.push(e);
  return out;
}

async function walkPaths(root: string, known?: Parameters<typeof walkTree>[3]): Promise<string[]> {
  const paths: string[] = [];
  for await (const e of walkTree(root, {}, () => {}, known)) paths.push(e.rel);
  return paths;
}

describe('unchanged folders are not listed again', () => {
  it('the walk takes the names of a folder the last backup vouches for, and lists every other folder', async () => {
    const root = path.join(dir, 'tree');
    await mkdir(path.join(root, 'a'), { recursive: true });
    await mkdir(path.join(root, 'b'), { recursive: true });
    await writeFile(path.join(root, 'a/real.txt'), 'x');
    await writeFile(path.join(root, 'b/real.txt'), 'y');
    // The known names of a/ are believed without a readdir: the real file there is not seen, the recorded one is.
    const known = (rel: string) => (rel === 'a' ? [{ name: 'recorded.txt', kind: 'file' as const }] : undefined);
    expect(await walkPaths(root, known)).toEqual(['a', 'a/recorded.txt', 'b', 'b/real.txt']);
    expect(await walkPaths(root)).toEqual(['a', 'a/real.txt', 'b', 'b/real.txt']);
  });

  it(
    'does not record a name count for folders changed ' + 'within the last 2 s (the next backup lists them again)',
    async () => {
      const tree = path.join(dir, 'tree');
      await makeSampleTree(tree);
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
      const full = await runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });
      const folders = (await indexOf(repo, full.snapshot.id)).filter((e) => e.type === 'dir');
      expect(folders.length).toBeGreaterThan(3);
      expect(folders.every((e) => e.names === undefined)).toBe(true);
    },
  );

  it('settled folders: an incremental still sees every added, changed, removed and newly included entry', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    await writeFile(path.join(tree, 'data/scratch.tmp'), 'excluded at first');
    await SETTLE();
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const backup = (exclude?: string[]) =>
      runBackup(repo, { sources: sourcesFromPaths([tree]).map((s) => ({ ...s, exclude })), toolVersion: 'test' });

    const full = await backup(['**/*.tmp']);
    const index = await indexOf(repo, full.snapshot.id);
    // A folder's count is of every name it held, so data/ (with an excluded name) cannot vouch for its indexed names.
    expect(index.find((e) => e.path === 'config')?.names).toBe(2);
    expect(index.find((e) => e.path === 'data')?.names).toBe(4);
    expect(index.filter((e) => e.path.startsWith('data/') && !e.path.slice(5).includes('/'))).toHaveLength(3);

    const unchanged = await backup(['**/*.tmp']);
    expect(unchanged.snapshot.kind).toBe('incremental');
    expect(unchanged.read).toEqual({ files: 0, bytes: 0 });
    expect((await indexOf(repo, unchanged.snapshot.id)).map((e) => e.path)).toEqual(index.map((e) => e.path));

    await writeFile(path.join(tree, 'config/added.json'), '{"new": true}\n');
    await writeFile(path.join(tree, 'bin/run.sh'), '#!/bin/sh\necho changed\n');
    await unlink(path.join(tree, 'données/café ☕.txt'));
    await mkdir(path.join(tree, 'empty-dir/also-empty/new-folder'));
    await rm(path.join(tree, 'media'), { recursive: true });
    const changed = await backup();
    expect(changed.snapshot.kind).toBe('incremental');
    const paths = (await indexOf(repo, changed.snapshot.id)).map((e) => e.path);
    expect(paths).toContain('config/added.json');
    expect(paths).toContain('data/scratch.tmp');
    expect(paths).toContain('empty-dir/also-empty/new-folder');
    expect(paths).not.toContain('données/café ☕.txt');
    expect(paths.some((p) => p.startsWith('media'))).toBe(false);

    const target = path.join(dir, 'restored');
    await executeRestore(repo, await planRestore(repo, { snapshot: changed.snapshot.id, target, sources: ['tree'] }));
    expect(await describeTree(target)).toEqual(await describeTree(tree));
  });

  it("works from this host's cache on an encrypted repository, whose index the backup cannot read", async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    await SETTLE();
    const key = generateIdentity();
    const store = new LocalStore(path.join(dir, 'repo'));
    await Repository.init(store, { encryption: { recipients: [key.recipient] } });
    const backup = async () =>
      runBackup(await Repository.open(store), {
        sources: sourcesFromPaths([tree]),
        toolVersion: 'test',
        cacheDir: path.join(dir, 'cache'),
      });

    await backup();
    await writeFile(path.join(tree, 'config/added.json'), '{"new": true}\n');
    await unlink(path.join(tree, 'config/secret.env'));
    const second = await backup();
    expect(second.snapshot.kind).toBe('incremental');
    expect(second.read.files).toBe(1);

    const target = path.join(dir, 'restored');
    const reader = await Repository.open(store, { identities: [key.identity] });
    await executeRestore(reader, await planRestore(reader, { snapshot: second.snapshot.id, target }));
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
  });
});
