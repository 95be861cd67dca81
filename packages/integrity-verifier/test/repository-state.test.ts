import { readdirSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { KEYS, Repository, RepoErrorCode } from '@drkit/repository';
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

  it(
    'holds a shared lock while it reads, so a prune cannot start; and waits for no one when a prune holds the ' +
      'repository',
    async () => {
      const tree = path.join(dir, 'tree');
      await makeSampleTree(tree);
      const root = path.join(dir, 'repo');
      const repo = await Repository.init(new LocalStore(root));
      const snap = await snapshotTree(repo, tree);
      const held: string[] = [];
      const [report] = await verifyRef(repo, snap.id, {
        onProgress: () => {
          if (held.length) return;
          for (const f of readdirSync(path.join(root, 'locks')))
            held.push(JSON.parse(readFileSync(path.join(root, 'locks', f), 'utf8')).purpose);
        },
      });
      expect(report!.ok).toBe(true);
      expect(held).toEqual(['verify']);
      expect(await readdir(path.join(root, 'locks')).catch(() => [])).toEqual([]);

      const prune = await repo.lock({ exclusive: true, purpose: 'forget --prune' });
      await expect(verifyRef(repo, snap.id)).rejects.toMatchObject({ code: RepoErrorCode.LOCKED });
      await prune.release();
    },
  );
});
