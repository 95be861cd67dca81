import { rename } from 'node:fs/promises';
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
      (
        await runBackup(repo, {
          sources: sourcesFromPaths(paths),
          toolVersion: 'test',
          host,
          full: true,
          clock: { now: () => new Date(Date.UTC(2026, 10, day)) },
        })
      ).snapshot.id;
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
      [
        'app-1',
        ['tree'],
        [
          [a2, true],
          [a1, false],
        ],
      ],
      [
        'app-2',
        ['tree'],
        [
          [b4, true],
          [b3, false],
        ],
      ],
    ]);
    expect(dry.removed).toEqual([b3, a1]);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([a1, a2, b3, b4, c5]);

    const done = await forgetSnapshots(repo, { policy: { keepLast: 1 }, now });
    expect(done.removed).toEqual([b3, a1]);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([a2, b4, c5]);
  });

  it('keeps a partial snapshot in its source set’s group, and plans only the snapshots a filter selects', async () => {
    const tree = path.join(dir, 'tree');
    const config = path.join(dir, 'config');
    await makeSampleTree(tree);
    await makeSampleTree(config);
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const at = async (host: string, day: number) =>
      (
        await runBackup(repo, {
          sources: sourcesFromPaths([tree, config]),
          toolVersion: 'test',
          host,
          full: host === 'app-2',
          clock: { now: () => new Date(Date.UTC(2026, 10, day)) },
        })
      ).snapshot;
    const a1 = await at('app-1', 1);
    await rename(config, `${config}.away`);
    const a2 = await at('app-1', 2);
    expect(a2).toMatchObject({ status: 'partial', kind: 'incremental', parent: a1.id });
    await rename(`${config}.away`, config);
    const b3 = await at('app-2', 3);
    const b4 = await at('app-2', 4);
    const now = new Date(Date.UTC(2026, 10, 6));
    // The partial a2 (config failed) is the newest of app-1's group, not a group of its own.
    const dry = await forgetSnapshots(repo, { policy: { keepLast: 1 }, now, dryRun: true });
    expect(dry.groups.map((g) => [g.host, g.sources, g.decisions.map((d) => [d.id, d.keep])])).toEqual([
      [
        'app-1',
        ['config', 'tree'],
        [
          [a2.id, true],
          [a1.id, true],
        ],
      ],
      [
        'app-2',
        ['config', 'tree'],
        [
          [b4.id, true],
          [b3.id, false],
        ],
      ],
    ]);
    expect(dry.decisions.find((d) => d.id === a1.id)!.reasons).toEqual([`needed by kept incremental ${a2.id}`]);
    // --host app-2: app-1's snapshots are neither planned nor touched, whatever the policy.
    const done = await forgetSnapshots(repo, { policy: { keepLast: 1 }, now, filter: { hosts: ['app-2'] } });
    expect(done.groups.map((g) => g.host)).toEqual(['app-2']);
    expect(done.removed).toEqual([b3.id]);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([a1.id, a2.id, b4.id]);
  });

  it('never removes what an unselected snapshot depends on', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const at = async (day: number, tags: string[]) =>
      (
        await runBackup(repo, {
          sources: sourcesFromPaths([tree]),
          toolVersion: 'test',
          tags,
          clock: { now: () => new Date(Date.UTC(2026, 10, day)) },
        })
      ).snapshot;
    const full = await at(1, ['daily']);
    const inc = await at(2, ['hourly']);
    expect(inc).toMatchObject({ kind: 'incremental', parent: full.id });
    const done = await forgetSnapshots(repo, {
      policy: { keepTags: ['golden'] },
      now: new Date(Date.UTC(2026, 10, 3)),
      filter: { tags: [['daily']] },
    });
    expect(done.removed).toEqual([]);
    expect(done.decisions).toEqual([
      expect.objectContaining({ id: full.id, keep: true, reasons: [`needed by kept incremental ${inc.id}`] }),
    ]);
  });
});
