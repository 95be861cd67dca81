import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { KEYS, Repository } from '@drkit/repository';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('runBackup beside damaged snapshot metadata', () => {
  it('makes a full when the chain’s full has damaged metadata, instead of failing', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const root = path.join(dir, 'repo');
    const repo = await Repository.init(new LocalStore(root));
    const backup = () => runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });
    const full = await backup();
    const inc = await backup();
    expect(inc.snapshot.kind).toBe('incremental');
    await writeFile(path.join(root, KEYS.snapshot(full.snapshot.id)), '{');
    const next = await backup();
    expect(next.snapshot.kind).toBe('full');
    expect(next.chain).toContain(`${full.snapshot.id} is gone or its metadata is damaged`);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([inc.snapshot.id, next.snapshot.id]);
  });
});
