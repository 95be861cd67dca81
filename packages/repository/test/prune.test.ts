import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  type DamagedSnapshot,
  describeLeftovers,
  KEYS,
  removeLeftovers,
  Repository,
  RepoErrorCode,
  type SourceItem,
} from '@drkit/repository';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-prune-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* oneFile(): AsyncGenerator<SourceItem> {
  yield {
    path: 'a.txt',
    type: 'file',
    mode: 0o644,
    mtime: 1_700_000_000_000,
    size: 2,
    content: async function* () {
      yield Buffer.from('hi');
    },
  };
}

const MIN = 60_000;

async function committed(repo: Repository, second: number) {
  const w = await repo.beginSnapshot({ time: new Date(Date.UTC(2026, 0, 2, 3, 4, second)), toolVersion: 'test' });
  await w.writeSource({ name: 'files', type: 'files' }, oneFile());
  return w.commit();
}

describe('damaged snapshot metadata', () => {
  it(
    'is skipped and reported by listings, resolves only ' + 'by its own id or prefix, and hides no other snapshot',
    async () => {
      const root = path.join(dir, 'repo');
      const repo = await Repository.init(new LocalStore(root));
      const [s1, s2, s3, s4] = [
        await committed(repo, 1),
        await committed(repo, 2),
        await committed(repo, 3),
        await committed(repo, 4),
      ];
      await writeFile(path.join(root, KEYS.snapshot(s2.id)), '{"format": 1, "id": "cut off');
      await writeFile(path.join(root, KEYS.snapshot(s4.id)), JSON.stringify({ ...s4, format: 2 }));
      const damaged: DamagedSnapshot[] = [];
      expect((await repo.listSnapshots({ onDamaged: (d) => damaged.push(d) })).map((s) => s.id)).toEqual([
        s1.id,
        s3.id,
      ]);
      expect(damaged).toEqual([
        {
          id: s2.id,
          key: KEYS.snapshot(s2.id),
          code: RepoErrorCode.BAD_METADATA,
          reason: expect.stringContaining('not valid JSON'),
        },
        {
          id: s4.id,
          key: KEYS.snapshot(s4.id),
          code: RepoErrorCode.UNSUPPORTED_FORMAT,
          reason: expect.stringContaining('format version 2'),
        },
      ]);
      expect((await repo.resolveSnapshot(s1.id)).id).toBe(s1.id);
      expect((await repo.resolveSnapshot(s3.id.slice(0, 15))).id).toBe(s3.id);
      expect((await repo.resolveSnapshot('latest')).id).toBe(s3.id);
      await expect(repo.resolveSnapshot(s2.id)).rejects.toMatchObject({ code: RepoErrorCode.BAD_METADATA });
      await expect(repo.resolveSnapshot(s2.id.slice(0, 15))).rejects.toMatchObject({
        code: RepoErrorCode.BAD_METADATA,
      });
      await expect(repo.resolveSnapshot('2026')).rejects.toMatchObject({
        code: RepoErrorCode.SNAPSHOT_AMBIGUOUS,
        message: expect.stringContaining(s2.id),
      });
    },
  );

  it('keeps its data through prune', async () => {
    const root = path.join(dir, 'repo');
    const repo = await Repository.init(new LocalStore(root));
    const [s1, s2, s3] = [await committed(repo, 1), await committed(repo, 2), await committed(repo, 3)];
    await writeFile(path.join(root, KEYS.snapshot(s2.id)), 'not json');
    await repo.forgetSnapshot(s1.id);
    expect(await repo.pruneData()).toMatchObject({ snapshots: [s1.id] });
    expect((await readdir(path.join(root, 'data'))).sort()).toEqual([s2.id, s3.id]);
  });
});

describe('pruneData', () => {
  it(
    'keeps data a backup may still be writing (made ' + 'within the stale-lock window), even with no lock held',
    async () => {
      const root = path.join(dir, 'repo');
      const repo = await Repository.init(new LocalStore(root));
      const now = new Date();
      const old = await repo.beginSnapshot({ time: new Date(now.getTime() - 120 * MIN), toolVersion: 'test' });
      await old.writeSource({ name: 'files', type: 'files' }, oneFile());
      await old.commit();
      await repo.forgetSnapshot(old.id);
      // Written, not committed, and no lock: as when `drkit unlock --all` removed a running backup's lock.
      const running = await repo.beginSnapshot({ time: new Date(now.getTime() - 5 * MIN), toolVersion: 'test' });
      await running.writeSource({ name: 'files', type: 'files' }, oneFile());

      expect((await repo.pruneData({ now })).snapshots).toEqual([old.id]);
      expect(await readdir(path.join(root, 'data'))).toEqual([running.id]);
      // Once the window has passed, nothing can still be writing it.
      expect((await repo.pruneData({ now: new Date(now.getTime() + 30 * MIN) })).snapshots).toEqual([running.id]);
      expect(await readdir(path.join(root, 'data')).catch(() => [])).toEqual([]);
    },
  );

  it(
    'removes temp files of unknown writers once older than ' + 'the stale-lock window (30 min), and not on a dry run',
    async () => {
      const root = path.join(dir, 'repo');
      const repo = await Repository.init(new LocalStore(root));
      const tmp = path.join(root, '.tmp');
      await mkdir(tmp, { recursive: true });
      await writeFile(path.join(tmp, 'crashed.part'), 'half an archive');
      await writeFile(path.join(tmp, 'writing.part'), 'a put in progress');
      const old = (Date.now() - 31 * MIN) / 1000;
      await utimes(path.join(tmp, 'crashed.part'), old, old);
      await repo.pruneData({ dryRun: true });
      expect((await readdir(tmp)).sort()).toEqual(['crashed.part', 'writing.part']);
      expect((await repo.pruneData()).leftovers?.tempFiles.map((f) => f.name)).toEqual(['crashed.part']);
      expect(await readdir(tmp)).toEqual(['writing.part']);
      await repo.pruneData({ now: new Date(Date.now() + 31 * MIN) });
      expect(await readdir(tmp)).toEqual([]);
    },
  );

  it(
    'removeLeftovers: a writer gone from this host loses its temp files at once; a live one never; one ' +
      'elsewhere after 30 minutes without a live lock',
    async () => {
      const root = path.join(dir, 'repo');
      const repo = await Repository.init(new LocalStore(root));
      const tmp = path.join(root, '.tmp');
      await mkdir(tmp, { recursive: true });
      const here = encodeURIComponent(hostname());
      const dead = 2 ** 22 + 13;
      const names = {
        deadHere: `${dead}@${here}-00000000000000aa.part`,
        liveHere: `${process.pid}@${here}-00000000000000bb.part`,
        lockedElsewhere: `77@other-host-00000000000000cc.part`,
        abandonedElsewhere: `78@other-host-00000000000000dd.part`,
        freshElsewhere: `79@other-host-00000000000000ee.part`,
      };
      for (const n of Object.values(names)) await writeFile(path.join(tmp, n), 'x');
      const hourAgo = (Date.now() - 60 * MIN) / 1000;
      for (const n of [names.liveHere, names.lockedElsewhere, names.abandonedElsewhere])
        await utimes(path.join(tmp, n), hourAgo, hourAgo);
      await mkdir(path.join(root, 'locks'));
      const t = new Date().toISOString();
      await writeFile(
        path.join(root, 'locks', 'other.json'),
        JSON.stringify({
          id: 'other',
          exclusive: false,
          host: 'other-host',
          pid: 77,
          purpose: 'backup',
          time: t,
          refreshed: t,
        }),
      );

      const removed = await removeLeftovers(repo.store);
      expect(removed.tempFiles.map((f) => f.name).sort()).toEqual([names.abandonedElsewhere, names.deadHere].sort());
      expect((await readdir(tmp)).sort()).toEqual([names.freshElsewhere, names.liveHere, names.lockedElsewhere].sort());
      const said = describeLeftovers(removed)!;
      expect(said).toMatch(/^removed 2 temporary file\(s\) of interrupted writes \(0\.0 MiB; /);
      expect(said).toContain('pid 78 on other-host');
      expect(said).toContain(`pid ${dead} on ${hostname()}`);
    },
  );
});
