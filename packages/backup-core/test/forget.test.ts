import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { Repository } from '@drkit/repository';
import { forgetSnapshots, runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('forgetSnapshots', () => {
  it('applies the policy per host and source set: newer backups of another host never remove this host’s', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const at = async (host: string, day: number, paths = [tree]) =>
      (await runBackup(repo, { sources: sourcesFromPaths(paths), toolVersion: 'test', host, full: true, clock: { now: () => new Date(Date.UTC(2026, 10, day)) } })).snapshot.id;
    const a1 = await at('app-1', 1);
    const a2 = await at('app-1', 2);
    const b3 = await at('app-2', 3);
    const b4 = await at('app-2', 4);
    const config = path.join(dir, 'config');
    await makeSampleTree(config);
    const c5 = await at('app-1', 5, [tree, config]);
    const now = new Date(Date.UTC(2026, 10, 6));

    const dry = await forgetSnapshots(repo, { policy: { keepLast: 1 }, now, dryRun: true });
    expect(dry.groups.map((g) => [g.host, g.sources, g.decisions.map((d) => [d.id, d.keep])])).toEqual([
      ['app-1', ['config', 'tree'], [[c5, true]]],
      ['app-1', ['tree'], [[a2, true], [a1, false]]],
      ['app-2', ['tree'], [[b4, true], [b3, false]]],
    ]);
    expect(dry.removed).toEqual([b3, a1]);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([a1, a2, b3, b4, c5]);

    const done = await forgetSnapshots(repo, { policy: { keepLast: 1 }, now });
    expect(done.removed).toEqual([b3, a1]);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([a2, b4, c5]);
  });
});
