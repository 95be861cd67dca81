import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BlobBody, type BlobInfo, LocalStore } from '@drkit/storage';
import { Repository } from '@drkit/repository';
import { BackupErrorCode, runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

/** A real folder store whose entry-index uploads fail: a fault a local disk will not produce on demand. */
class IndexFailingStore extends LocalStore {
  override async put(key: string, body: BlobBody): Promise<BlobInfo> {
    if (key.includes('.index.jsonl.')) throw new Error(`injected: put ${key} failed`);
    return super.put(key, body);
  }
}

describe('runBackup when the index cannot be stored', () => {
  it('rejects promptly, rolls back, and commits no snapshot', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const root = path.join(dir, 'repo');
    await Repository.init(new LocalStore(root));
    const repo = await Repository.open(new IndexFailingStore(root));
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the backup is still pending after 10 s')), 10_000).unref(),
    );
    await expect(
      Promise.race([runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' }), timeout]),
    ).rejects.toMatchObject({
      code: BackupErrorCode.FAILED,
      message: expect.stringContaining('injected'),
    });
    expect(await repo.listSnapshots()).toEqual([]);
    expect(await readdir(path.join(root, 'data')).catch(() => [])).toEqual([]);
    expect(await readdir(path.join(root, '.tmp'))).toEqual([]);
    expect(await readdir(path.join(root, 'locks')).catch(() => [])).toEqual([]);
  });
});
