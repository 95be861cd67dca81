import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { generateIdentity, Repository } from '@drkit/repository';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { executeRestore, planRestore } from '@drkit/restore-core';
import { describeTree, makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('backups into an encrypted repository', () => {
  it(
    'need only the public keys: without the identity ' + 'every backup is a full, with it incrementals resume',
    async () => {
      const tree = path.join(dir, 'tree');
      await makeSampleTree(tree);
      const key = generateIdentity();
      const store = new LocalStore(path.join(dir, 'repo'));
      await Repository.init(store, { encryption: { recipients: [key.recipient] } });
      const backup = async (repo: Repository) =>
        runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });

      const first = await backup(await Repository.open(store));
      const second = await backup(await Repository.open(store));
      expect([first.snapshot.kind, second.snapshot.kind]).toEqual(['full', 'full']);
      expect(second.chain).toMatch(/encrypted, no identity was given, and this host's cache has no file list/);
      expect(second.snapshot.encryption).toEqual({ type: 'age', recipients: [key.recipient] });

      const third = await backup(await Repository.open(store, { identities: [key.identity] }));
      expect(third.snapshot).toMatchObject({ kind: 'incremental', parent: second.snapshot.id });
    },
  );

  it("make incrementals without the identity from this host's cache, which holds no file content", async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const marker = 'CACHE-MUST-NOT-HOLD-THIS-CONTENT';
    await writeFile(path.join(tree, 'data/marker.txt'), marker);
    const key = generateIdentity();
    const store = new LocalStore(path.join(dir, 'repo'));
    await Repository.init(store, { encryption: { recipients: [key.recipient] } });
    const cacheDir = path.join(dir, 'cache');
    const backup = async () =>
      runBackup(await Repository.open(store), { sources: sourcesFromPaths([tree]), toolVersion: 'test', cacheDir });

    const first = await backup();
    await writeFile(path.join(tree, 'data/new.jsonl'), '{"n":1}\n');
    const second = await backup();
    expect(second.snapshot).toMatchObject({ kind: 'incremental', parent: first.snapshot.id });
    expect(second.read.files).toBe(1);

    // Restored with the identity, the incremental is the tree as it is now.
    const target = path.join(dir, 'restored');
    const reader = await Repository.open(store, { identities: [key.identity] });
    await executeRestore(reader, await planRestore(reader, { snapshot: second.snapshot.id, target }));
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));

    // Owner-only, file lists only: no byte of any file's content.
    const repoCache = path.join(cacheDir, (await Repository.open(store)).config.id);
    expect((await stat(repoCache)).mode & 0o777).toBe(0o700);
    const lists = await readdir(path.join(repoCache, second.snapshot.id));
    const text = await readFile(path.join(repoCache, second.snapshot.id, lists[0]!), 'utf8');
    expect(text).toContain('data/marker.txt');
    expect(text).not.toContain(marker);
    expect((await stat(path.join(repoCache, second.snapshot.id, lists[0]!))).mode & 0o777).toBe(0o600);

    // Only the newest few snapshots' lists are kept.
    for (let i = 0; i < 3; i++) await backup();
    expect((await readdir(repoCache)).length).toBe(3);
  });

  it('fall back to a full when the cache lost the parent, and say why', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const key = generateIdentity();
    const store = new LocalStore(path.join(dir, 'repo'));
    await Repository.init(store, { encryption: { recipients: [key.recipient] } });
    const backup = async (cacheDir: string) =>
      runBackup(await Repository.open(store), { sources: sourcesFromPaths([tree]), toolVersion: 'test', cacheDir });
    await backup(path.join(dir, 'cache-a'));
    const second = await backup(path.join(dir, 'cache-b'));
    expect(second.snapshot.kind).toBe('full');
    expect(second.chain).toMatch(/cache has no file list of/);
  });

  it(
    'read every file, with a note, when the cached list ' + 'is damaged; and keep each backup job its own lists',
    async () => {
      const key = generateIdentity();
      const store = new LocalStore(path.join(dir, 'repo'));
      await Repository.init(store, { encryption: { recipients: [key.recipient] } });
      const cacheDir = path.join(dir, 'cache');
      const trees = ['a', 'b', 'c', 'd'].map((n) => path.join(dir, n));
      for (const t of trees) await makeSampleTree(t);
      const backup = async (tree: string) =>
        runBackup(await Repository.open(store), { sources: sourcesFromPaths([tree]), toolVersion: 'test', cacheDir });

      const first = await backup(trees[0]!);
      // Three other jobs on this host do not push job a's list out of the cache.
      for (const t of trees.slice(1)) await backup(t);
      const second = await backup(trees[0]!);
      expect(second.snapshot).toMatchObject({ kind: 'incremental', parent: first.snapshot.id });
      expect(second.read.files).toBe(0);

      // A list cut short (a crash, a full disk) costs a full read, never the backup.
      const repoCache = path.join(cacheDir, (await Repository.open(store)).config.id);
      const [list] = await readdir(path.join(repoCache, second.snapshot.id));
      const listPath = path.join(repoCache, second.snapshot.id, list!);
      await writeFile(listPath, (await readFile(listPath, 'utf8')).slice(0, -10));
      const third = await backup(trees[0]!);
      expect(third.status).toBe('complete');
      expect(third.notes).toContainEqual(expect.stringContaining('could not be read'));
      expect(third.read.files).toBe(first.read.files);
    },
  );
});
