import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { readLocks, removeLocks, Repository, RepoErrorCode, type SourceItem } from '@drkit/repository';
import { FaultyStore } from './faulty-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-lock-'));
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

async function until(cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
}

describe('repository locks', () => {
  it(
    'refuses to commit a snapshot whose lock was removed while it ran (unlock --all): REPO_LOCK_LOST, nothing ' +
      'listed',
    async () => {
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
      const lock = await repo.lock({ exclusive: false, purpose: 'backup' });
      const w = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test', lock });
      await w.writeSource({ name: 'files', type: 'files' }, oneFile());
      expect(await removeLocks(repo.store, { all: true })).toHaveLength(1);
      await expect(w.commit()).rejects.toMatchObject({
        code: RepoErrorCode.LOCK_LOST,
        message: expect.stringContaining('nothing was committed'),
      });
      expect(lock.lost).toBe(true);
      expect(await repo.listSnapshots()).toEqual([]);
      await w.abort();
      await lock.release();
    },
  );

  it(
    'notices at refresh that its lock is gone, marks it ' + 'lost and never writes it back; a held lock is refreshed',
    async () => {
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
      // A 6 s stale window refreshes every second.
      const removed = await repo.lock({ exclusive: false, purpose: 'backup', staleAfterMs: 6000 });
      const kept = await repo.lock({ exclusive: false, purpose: 'backup', staleAfterMs: 6000 });
      await repo.store.delete(`locks/${removed.info.id}.json`);
      await until(() => removed.lost, 5000);
      expect(removed.lost).toBe(true);
      await new Promise((r) => setTimeout(r, 1500)); // at least one more refresh interval
      const locks = await readLocks(repo.store);
      expect(locks.map((l) => l.id)).toEqual([kept.info.id]);
      expect(kept.lost).toBe(false);
      expect(locks[0]!.refreshed > locks[0]!.time).toBe(true);
      await expect(kept.assertHeld()).resolves.toBeUndefined();
      await removed.release();
      await kept.release();
      expect(await readLocks(repo.store)).toEqual([]);
    },
  );

  it('takes the lock when a stale lock cannot be deleted, without an unhandled rejection', async () => {
    const root = path.join(dir, 'repo');
    await Repository.init(new LocalStore(root));
    const repo = await Repository.open(new FaultyStore(root, { delete: /^locks\/dead\.json$/ }));
    await mkdir(path.join(root, 'locks'), { recursive: true });
    const dead = {
      id: 'dead',
      exclusive: true,
      host: 'gone',
      pid: 1,
      purpose: 'forget --prune',
      time: 'x',
      refreshed: '2020-01-01T00:00:00.000Z',
    };
    await writeFile(path.join(root, 'locks', 'dead.json'), JSON.stringify(dead));
    const seen: string[] = [];
    const lock = await repo.lock({ exclusive: true, purpose: 'prune', onStale: (l) => seen.push(l.id) });
    expect(seen).toEqual(['dead']);
    // Give the failed delete time to settle: vitest fails the run on an unhandled rejection.
    await new Promise((r) => setTimeout(r, 100));
    await lock.release();
    expect((await readLocks(repo.store)).map((l) => l.id)).toEqual(['dead']);
  });

  it(
    'tags under a shared lock: refused while forget/prune ' + 'holds the exclusive one, allowed beside a backup',
    async () => {
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
      const w = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
      await w.writeSource({ name: 'files', type: 'files' }, oneFile());
      const meta = await w.commit();
      const prune = await repo.lock({ exclusive: true, purpose: 'forget --prune' });
      await expect(repo.setTags(meta.id, ['golden'])).rejects.toMatchObject({
        code: RepoErrorCode.LOCKED,
        message: expect.stringContaining('"forget --prune"'),
      });
      await prune.release();
      expect((await repo.resolveSnapshot(meta.id)).tags).toEqual([]);
      const backup = await repo.lock({ exclusive: false, purpose: 'backup' });
      expect((await repo.setTags(meta.id, ['golden'])).tags).toEqual(['golden']);
      expect((await repo.resolveSnapshot(meta.id)).tags).toEqual(['golden']);
      expect((await readLocks(repo.store)).map((l) => l.purpose)).toEqual(['backup']);
      await backup.release();
    },
  );

  it(
    "removing the lock of a backup killed on this host removes its unfinished snapshot's data, never a " +
      "committed one's",
    async () => {
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
      const dead = 2 ** 22 + 9;
      const leave = async (committed: boolean) => {
        const w = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
        await w.writeSource({ name: 'files', type: 'files' }, oneFile());
        if (committed) await w.commit();
        const t = new Date().toISOString();
        await repo.store.put(
          `locks/${w.id}.json`,
          Buffer.from(
            JSON.stringify({
              id: w.id,
              exclusive: false,
              host: hostname(),
              pid: dead,
              purpose: 'backup',
              time: t,
              refreshed: t,
              snapshot: w.id,
            }),
          ),
        );
        return w.id;
      };
      const unfinished = await leave(false);
      const committed = await leave(true);
      const seen: string[] = [];
      const lock = await repo.lock({
        exclusive: true,
        purpose: 'prune',
        onStale: (l, why) => seen.push(`${l.id}: ${why}`),
      });
      await lock.release();
      expect(seen.sort()).toEqual(
        [
          `${unfinished}: process ${dead} on this host (${hostname()}) is no longer running; removed the 2 ` +
            `blob(s) of its unfinished snapshot ${unfinished}`,
          `${committed}: process ${dead} on this host (${hostname()}) is no longer running`,
        ].sort(),
      );
      expect(await readdir(path.join(dir, 'repo', 'data'))).toEqual([committed]);
      expect(await readLocks(repo.store)).toEqual([]);
    },
  );

  it(
    'a lock file that is not a lock is removed by the ' + 'next lock and by removeLocks, and told to onDamaged',
    async () => {
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
      await mkdir(path.join(dir, 'repo', 'locks'));
      await writeFile(path.join(dir, 'repo', 'locks', 'cut.json'), '{"id":"cut","host":');
      const damaged: string[] = [];
      const lock = await repo.lock({
        exclusive: true,
        purpose: 'prune',
        onDamaged: (key, why) => damaged.push(`${key}: ${why}`),
      });
      expect(damaged).toEqual(['locks/cut.json: it is not valid JSON']);
      await writeFile(path.join(dir, 'repo', 'locks', 'odd.json'), '{"id":"odd"}');
      expect(
        await removeLocks(repo.store, { all: false, onDamaged: (key, why) => damaged.push(`${key}: ${why}`) }),
      ).toEqual([]);
      expect(damaged[1]).toBe(
        'locks/odd.json: it is not a drkit lock (exclusive, host, a pid above 0, purpose, time and refreshed ' +
          'are required)',
      );
      expect(await readLocks(repo.store)).toEqual([lock.info]);
      await lock.release();
    },
  );
});
