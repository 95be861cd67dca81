import { readdirSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { Repository, RepoErrorCode } from '@drkit/repository';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('runBackup and its lock', () => {
  it('fails with REPO_LOCK_LOST and commits nothing when its lock is removed mid-backup (unlock --all)', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const root = path.join(dir, 'repo');
    const repo = await Repository.init(new LocalStore(root));
    const locks = path.join(root, 'locks');
    let removed = 0;
    const backup = runBackup(repo, {
      sources: sourcesFromPaths([tree]),
      toolVersion: 'test',
      // What `drkit unlock --all` does to a folder repository, at the first file.
      onProgress: () => {
        for (const f of removed ? [] : readdirSync(locks)) rmSync(path.join(locks, f));
        removed++;
      },
    });
    await expect(backup).rejects.toMatchObject({
      code: RepoErrorCode.LOCK_LOST,
      message: expect.stringContaining('nothing was committed'),
    });
    expect(removed).toBeGreaterThan(0);
    expect(await repo.listSnapshots()).toEqual([]);
    expect(await readdir(path.join(root, 'data')).catch(() => [])).toEqual([]);
    expect(await readdir(locks).catch(() => [])).toEqual([]);
  });
});
