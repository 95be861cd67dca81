import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  inScope,
  matchesFilter,
  Repository,
  RepoErrorCode,
  type SnapshotMeta,
  type SnapshotScope,
} from '@drkit/repository';

let dir: string;
let repo: Repository;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-select-'));
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* nothing() {}

interface Made {
  host: string;
  day: number;
  sources: Array<{ name: string; origin: string }>;
  tags?: string[];
  failed?: Array<{ name: string; origin: string }>;
}

/** A snapshot of empty file sources, made on `day` (November 2026) by `host`. */
async function snapshot(m: Made): Promise<SnapshotMeta> {
  const w = await repo.beginSnapshot({
    time: new Date(Date.UTC(2026, 10, m.day)),
    host: m.host,
    tags: m.tags ?? [],
    toolVersion: 'test',
  });
  for (const s of m.sources) await w.writeSource({ name: s.name, type: 'files', origin: s.origin }, nothing());
  const failedSources = (m.failed ?? []).map((f) => ({
    ...f,
    type: 'files',
    code: 'BACKUP_SOURCE_MISSING',
    reason: `${f.origin} does not exist`,
  }));
  return w.commit({ failedSources });
}

const config = { name: 'config', origin: '/srv/app/config' };
const data = { name: 'data', origin: '/srv/app/data' };
const scope: SnapshotScope = { host: 'app-1', sources: [config, data].map((s) => ({ ...s, type: 'files' })) };

describe('snapshot filters (restic semantics)', () => {
  it('--host is any of, --source and --path all of, --tag a,b both and repeated --tag either', async () => {
    const s = await snapshot({ host: 'app-1', day: 1, sources: [config, data], tags: ['daily', 'clean'] });
    expect(matchesFilter(s, {})).toBe(true);
    expect(matchesFilter(s, { hosts: ['app-2', 'app-1'] })).toBe(true);
    expect(matchesFilter(s, { hosts: ['app-2'] })).toBe(false);
    expect(matchesFilter(s, { sources: ['config', 'data'] })).toBe(true);
    expect(matchesFilter(s, { sources: ['config', 'cache'] })).toBe(false);
    expect(matchesFilter(s, { paths: ['/srv/app/data', '/srv/app/config/'] })).toBe(true);
    expect(matchesFilter(s, { paths: ['/srv/app/data', '/elsewhere/config'] })).toBe(false);
    expect(matchesFilter(s, { tags: [['daily', 'clean']] })).toBe(true);
    expect(matchesFilter(s, { tags: [['daily', 'weekly']] })).toBe(false);
    expect(matchesFilter(s, { tags: [['weekly'], ['clean']] })).toBe(true);
  });

  it('a relative --path means the folder it names from here', async () => {
    const here = path.join(dir, 'srv');
    const s = await snapshot({ host: 'app-1', day: 1, sources: [{ name: 'srv', origin: here }] });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(matchesFilter(s, { paths: ['srv'] })).toBe(true);
      expect(matchesFilter(s, { paths: ['./srv/'] })).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it(
    "a config's scope: this host, its sources from their own paths; a partial snapshot counts, unless its " +
      'failed source was elsewhere',
    async () => {
      const service = await snapshot({ host: 'app-1', day: 1, sources: [config, data] });
      const partial = await snapshot({ host: 'app-1', day: 2, sources: [config], failed: [data] });
      const adHoc = await snapshot({
        host: 'app-1',
        day: 3,
        sources: [{ name: 'config', origin: '/elsewhere/config' }],
      });
      const moved = await snapshot({
        host: 'app-1',
        day: 4,
        sources: [config],
        failed: [{ name: 'data', origin: '/mnt/data' }],
      });
      const other = await snapshot({ host: 'app-2', day: 5, sources: [config, data] });
      const unrelated = await snapshot({ host: 'app-1', day: 6, sources: [{ name: 'tmp', origin: '/tmp/x' }] });
      expect([service, partial, adHoc, moved, other, unrelated].map((s) => inScope(s, scope))).toEqual([
        true,
        true,
        false,
        false,
        false,
        false,
      ]);
    },
  );
});

describe('resolveSnapshot with a selection', () => {
  it(
    'resolves latest among this config’s snapshots, tells which newer ones it passed over, and lets ' +
      '--host/--path override',
    async () => {
      const service = await snapshot({ host: 'app-1', day: 1, sources: [config, data] });
      const adHoc = await snapshot({
        host: 'app-1',
        day: 2,
        sources: [{ name: 'config', origin: '/elsewhere/config' }],
      });
      const other = await snapshot({ host: 'app-2', day: 3, sources: [config, data] });
      expect((await repo.resolveSnapshot('latest')).id).toBe(other.id);
      const hidden: string[][] = [];
      const chosen = await repo.resolveSnapshot('latest', {
        scope,
        onHidden: (h, c) => hidden.push([c.id, ...h.map((s) => s.id)]),
      });
      expect(chosen.id).toBe(service.id);
      expect(hidden).toEqual([[service.id, adHoc.id, other.id]]);
      // --source narrows within the scope: the ad-hoc "config" still does not count.
      expect((await repo.resolveSnapshot('latest', { scope, filter: { sources: ['config'] } })).id).toBe(service.id);
      expect((await repo.resolveSnapshot('latest', { scope, filter: { hosts: ['app-2'] } })).id).toBe(other.id);
      expect((await repo.resolveSnapshot('latest', { scope, filter: { paths: ['/elsewhere/config'] } })).id).toBe(
        adHoc.id,
      );
      // An id or a prefix names its snapshot: the scope does not apply, explicit filters do.
      expect((await repo.resolveSnapshot(adHoc.id, { scope })).id).toBe(adHoc.id);
      expect((await repo.resolveSnapshot(adHoc.id.slice(0, 10), { scope })).id).toBe(adHoc.id);
    },
  );

  it('resolves a prefix and latest:TAG among the filtered snapshots only', async () => {
    const a = await snapshot({ host: 'app-1', day: 1, sources: [config], tags: ['pre-deployment'] });
    const b = await snapshot({ host: 'app-2', day: 1, sources: [config], tags: ['pre-deployment'] });
    const day = a.id.slice(0, 9);
    await expect(repo.resolveSnapshot(day)).rejects.toMatchObject({ code: RepoErrorCode.SNAPSHOT_AMBIGUOUS });
    expect((await repo.resolveSnapshot(day, { filter: { hosts: ['app-2'] } })).id).toBe(b.id);
    expect((await repo.resolveSnapshot('latest:pre-deployment', { filter: { hosts: ['app-1'] } })).id).toBe(a.id);
    await expect(repo.resolveSnapshot(day, { filter: { hosts: ['app-3'] } })).rejects.toMatchObject({
      code: RepoErrorCode.SNAPSHOT_NOT_FOUND,
      message: expect.stringContaining(`No snapshot of host app-3 matches "${day}"`),
    });
  });

  it('says what ruled every snapshot out, and refuses an id the filter does not select', async () => {
    const mine = await snapshot({ host: 'app-1', day: 1, sources: [{ name: 'config', origin: '/elsewhere/config' }] });
    await expect(repo.resolveSnapshot('latest', { filter: { tags: [['clean']] } })).rejects.toMatchObject({
      code: RepoErrorCode.SNAPSHOT_NOT_FOUND,
      message: expect.stringContaining('matches tag clean'),
    });
    await expect(repo.resolveSnapshot('latest', { scope })).rejects.toMatchObject({
      code: RepoErrorCode.SNAPSHOT_NOT_FOUND,
      message: expect.stringContaining(
        `is of this config's sources (config from /srv/app/config, data from /srv/app/data) on host app-1; ` +
          `the newest other one is ${mine.id} (host app-1: config from /elsewhere/config)`,
      ),
      hint: expect.stringContaining('--host'),
    });
    await expect(repo.resolveSnapshot(mine.id, { filter: { hosts: ['app-2'] } })).rejects.toMatchObject({
      code: RepoErrorCode.SNAPSHOT_NOT_FOUND,
      message: expect.stringContaining(
        `Snapshot ${mine.id} (host app-1: config from /elsewhere/config; tags none) does not match host app-2`,
      ),
    });
  });
});
