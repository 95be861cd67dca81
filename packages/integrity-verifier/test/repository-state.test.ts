import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { KEYS, Repository } from '@drkit/repository';
import { verifyRef } from '@drkit/integrity-verifier';
import { makeSampleTree, snapshotTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('verifyRef and the repository around the snapshots', () => {
  it('verify all checks every readable snapshot and fails one whose metadata is damaged, naming why', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const root = path.join(dir, 'repo');
    const repo = await Repository.init(new LocalStore(root));
    const good = await snapshotTree(repo, tree);
    const bad = await snapshotTree(repo, tree);
    await writeFile(path.join(root, KEYS.snapshot(bad.id)), 'garbage');
    const reports = await verifyRef(repo, 'all');
    expect(reports.map((r) => [r.snapshot, r.ok, r.status])).toEqual([
      [good.id, true, 'complete'],
      [bad.id, false, 'unreadable'],
    ]);
    expect(reports[1]!.damaged).toContain('not valid JSON');
  });
});
