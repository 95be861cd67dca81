import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BackupErrorCode, type RedisSource, readRedis, runBackup } from '@drkit/backup-core';
import { NOT_POINT_IN_TIME, Repository, type RedisRecord } from '@drkit/repository';
import { RedisConnection } from '@drkit/redis-source';
import { LocalStore } from '@drkit/storage';
import {
  BINARY_KEY,
  BINARY_VALUE,
  makeSampleTree,
  type RunningRedis,
  seedRedis,
  startRedis,
  tempDir,
} from '@drkit/test-support';

let server: RunningRedis;
let dir: string;
let cleanup: () => Promise<void>;
let repo: Repository;

beforeAll(async () => {
  server = await startRedis();
  await seedRedis(server.client());
});
afterAll(() => server.stop());
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
});
afterEach(() => cleanup());

const redisSource = (url: string, extra: Partial<RedisSource> = {}): RedisSource => ({
  name: 'redis',
  type: 'redis',
  connection: { url },
  ...extra,
});

async function recordsOf(id: string, source = 'redis'): Promise<RedisRecord[]> {
  const snap = await repo.resolveSnapshot(id);
  const out: RedisRecord[] = [];
  for await (const r of repo.readRedisRecords(repo.source(snap, source))) out.push(r);
  return out;
}

/** Kills the server once the backup has read `keys` keys: a Redis that goes away mid-backup. */
function killAfterKeys(r: RunningRedis, keys: number) {
  const kill = {
    killed: false,
    onProgress: (p: { keys?: number }) => {
      if (kill.killed || (p.keys ?? 0) < keys) return;
      kill.killed = true;
      r.kill();
    },
  };
  return kill;
}

async function fillKeys(r: RunningRedis, n: number): Promise<void> {
  const p = r.client().pipeline();
  for (let i = 0; i < n; i++) p.set(`k:${i}`, `value-${i}`);
  await p.exec();
}

describe('Redis sources', () => {
  it(
    'backs up every database beside a folder: counts, versions, absolute expiry and the not-point-in-time ' +
      'note in the metadata',
    async () => {
      const c = server.client();
      const tree = path.join(dir, 'tree');
      await makeSampleTree(tree);
      const result = await runBackup(repo, {
        sources: [{ name: 'files', type: 'files', path: tree }, redisSource(server.url)],
        toolVersion: 'test',
      });
      expect(result.status).toBe('complete');
      const src = result.snapshot.sources.find((s) => s.name === 'redis')!;
      expect(src.archive.key).toMatch(/^data\/.*\/redis\.redis\.(zst|gz)$/);
      expect(src.index).toBeUndefined();
      const dbsize = async (db: number) => (await server.client(db).dbsize()) as number;
      expect(src.redis).toMatchObject({
        server: { version: server.version, mode: 'standalone', role: 'master', nodes: 1 },
        rdbVersion: server.rdbVersion,
        dbs: [
          { db: 0, keys: await dbsize(0) },
          { db: 1, keys: await dbsize(1) },
          { db: 3, keys: await dbsize(3) },
        ],
        skippedVanished: 0,
        pointInTime: false,
        note: NOT_POINT_IN_TIME,
      });
      const records = await recordsOf(result.snapshot.id);
      expect(records).toHaveLength(src.redis!.records);
      const bin = records.find((r) => r.key.equals(BINARY_KEY))!;
      expect(bin.type).toBe('string');
      expect(bin.expireAt).toBe(-1);
      const ttlKey = records.find((r) => r.key.toString() === 'str:ttl')!;
      // The absolute expiry is now + the remaining TTL, read at
      // one moment (not the backup's start, which may be seconds
      // earlier).
      const expected = Date.now() + (await c.pttl('str:ttl'));
      expect(Math.abs(ttlKey.expireAt - expected)).toBeLessThan(1000);
      expect(new Set(records.map((r) => r.type))).toEqual(new Set(['string', 'hash', 'list', 'set', 'zset', 'stream']));
      // The payload is what DUMP returns, byte for byte.
      expect(bin.payload.equals((await c.dumpBuffer(BINARY_KEY))!)).toBe(true);
      expect((await c.getBuffer(BINARY_KEY))!.equals(BINARY_VALUE)).toBe(true);
    },
  );

  it('reads only the URL’s database, or the keys matching a pattern', async () => {
    const r1 = await runBackup(repo, { sources: [redisSource(`${server.url}/1`)], toolVersion: 'test' });
    expect(r1.snapshot.sources[0]!.redis!.dbs).toEqual([{ db: 1, keys: 4 }]);
    const r2 = await runBackup(repo, {
      sources: [redisSource(server.url, { dbs: 'all', pattern: 'session:*' })],
      toolVersion: 'test',
    });
    expect(r2.snapshot.sources[0]!.redis).toMatchObject({ dbs: [{ db: 0, keys: 300 }], pattern: 'session:*' });
  });

  it(
    'fails before reading anything when a database cannot be selected; an emergency backup reports it and ' +
      'reads the others',
    async () => {
      // The default 16 databases: 99 does not exist, and ioredis alone would have read database 0 in its place.
      const err = await runBackup(repo, {
        sources: [redisSource(server.url, { dbs: [0, 99] })],
        toolVersion: 'test',
      }).catch((e) => e);
      expect(err).toMatchObject({
        code: BackupErrorCode.REDIS_FAILED,
        details: { keysRead: 0, cause: 'REDIS_NO_SUCH_DB' },
      });
      expect(err.message).toContain('cannot select database 99: it answered "ERR DB index is out of range"');
      expect(err.hint).toContain('databases 100');
      expect(await repo.listSnapshots()).toEqual([]);

      const result = await runBackup(repo, {
        sources: [redisSource(server.url, { dbs: [0, 99] })],
        toolVersion: 'test',
        emergency: true,
      });
      expect(result.status).toBe('partial');
      expect(result.errors.map((e) => e.message)).toEqual([expect.stringContaining('cannot select database 99')]);
      expect(result.snapshot.sources[0]!.redis!.dbs).toEqual([{ db: 0, keys: await server.client(0).dbsize() }]);
    },
  );

  it('reads the same records through pipelines for a user without scripting, and DUMPs large keys alone', async () => {
    const c = server.client();
    await c.call('ACL', 'SETUSER', 'noscript', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
    const key = (r: RedisRecord) => `${r.db}/${r.key.toString('hex')}`;
    const read = async (url: string, tuning: Parameters<typeof readRedis>[4]) => {
      const conn = await RedisConnection.open({ url });
      try {
        const out: RedisRecord[] = [];
        for await (const r of readRedis(
          conn,
          redisSource(url),
          { keys: 0, bytes: 0, vanished: 0, errors: 0 },
          { warn() {}, error() {} },
          tuning,
        ))
          out.push(r);
        return out.sort((a, b) => key(a).localeCompare(key(b)));
      } finally {
        await conn.close();
      }
    };
    const scripted = await read(server.url, {});
    const piped = await read(server.url.replace('redis://', 'redis://noscript:pw@'), {});
    const alone = await read(server.url, { largeKeyBytes: 1, batchKeys: 7 });
    expect(scripted.length).toBeGreaterThan(300);
    for (const other of [piped, alone]) {
      expect(other.map(key)).toEqual(scripted.map(key));
      expect(
        other.every(
          (r, i) => r.payload.equals(scripted[i]!.payload) && Math.abs(r.expireAt - scripted[i]!.expireAt) < 1000,
        ),
      ).toBe(true);
    }
  });

  it('skips and counts keys that vanish between SCAN and DUMP', async () => {
    const c = server.client(5);
    await c.mset('v:1', 'a', 'v:2', 'b', 'v:3', 'c', 'v:4', 'd');
    const conn = await RedisConnection.open({ url: `${server.url}/5` });
    try {
      const state = { keys: 0, bytes: 0, vanished: 0, errors: 0 };
      const gen = readRedis(conn, redisSource(`${server.url}/5`), state, { warn() {}, error() {} }, { batchKeys: 1 });
      // One SCAN reply holds all four keys; DUMP has reached only the first when the rest are deleted.
      const first = await gen.next();
      expect(first.done).toBe(false);
      await c.del('v:1', 'v:2', 'v:3', 'v:4');
      const rest: unknown[] = [];
      for await (const r of gen) rest.push(r);
      expect(rest).toEqual([]);
      expect(state).toMatchObject({ keys: 1, vanished: 3, errors: 0 });
    } finally {
      await conn.close();
      await c.flushdb();
    }
  });

  it('fails with a clear error and lists no snapshot when Redis disconnects mid-backup', async () => {
    const doomed = await startRedis();
    try {
      await fillKeys(doomed, 3000);
      const kill = killAfterKeys(doomed, 200);
      const err = await runBackup(repo, {
        sources: [redisSource(doomed.url)],
        toolVersion: 'test',
        redis: { batchKeys: 100 },
        onProgress: kill.onProgress,
      }).catch((e) => e);
      expect(kill.killed).toBe(true);
      expect(err.code).toBe(BackupErrorCode.REDIS_FAILED);
      expect(err.message).toMatch(
        new RegExp(
          `The backup of Redis source "redis" \\(redis://127\\.0\\.0\\.1:${doomed.port}\\) failed after ` +
            `\\d+ keys: Lost or could not open the connection`,
        ),
      );
      expect(err.hint).toMatch(/Nothing was saved/);
      expect(await repo.listSnapshots()).toEqual([]);
      expect(await readdir(path.join(dir, 'repo', 'data')).catch(() => [])).toEqual([]);
    } finally {
      await doomed.stop();
    }
  });

  it(
    'in an emergency keeps what it read before Redis went away (an error of a partial snapshot); a missing ' +
      'path is a failed source',
    async () => {
      const doomed = await startRedis();
      try {
        await fillKeys(doomed, 3000);
        const kill = killAfterKeys(doomed, 200);
        const result = await runBackup(repo, {
          sources: [redisSource(doomed.url), { name: 'gone', type: 'files', path: path.join(dir, 'no-such-folder') }],
          toolVersion: 'test',
          emergency: true,
          redis: { batchKeys: 100 },
          onProgress: kill.onProgress,
        });
        expect(result.status).toBe('partial');
        expect(result.snapshot.tags).toEqual(['emergency']);
        expect(result.errors).toEqual([
          expect.objectContaining({
            source: 'redis',
            message: expect.stringMatching(
              // long-line: a regex over the whole message, as the user reads it
              /reading Redis at redis:\/\/127\.0\.0\.1:\d+ stopped after \d+ keys: .*the snapshot holds the keys read before that/,
            ),
          }),
        ]);
        expect(result.failedSources).toEqual([
          {
            name: 'gone',
            type: 'files',
            origin: path.join(dir, 'no-such-folder'),
            code: BackupErrorCode.SOURCE_MISSING,
            reason: expect.stringMatching(/no-such-folder does not exist/),
          },
        ]);
        expect(result.snapshot.failedSources).toEqual(result.failedSources);
        const records = await recordsOf(result.snapshot.id);
        expect(records.length).toBeGreaterThanOrEqual(200);
        expect(records.length).toBeLessThan(3000);
        expect(result.snapshot.sources[0]!.redis!.records).toBe(records.length);
        expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([result.snapshot.id]);
      } finally {
        await doomed.stop();
      }
    },
  );

  it(
    'keeps the other sources when Redis goes away mid-backup: the Redis source is failed and none of its ' +
      'archive is left',
    async () => {
      const doomed = await startRedis();
      try {
        await fillKeys(doomed, 3000);
        const tree = path.join(dir, 'tree');
        await makeSampleTree(tree);
        const kill = killAfterKeys(doomed, 200);
        const result = await runBackup(repo, {
          sources: [redisSource(doomed.url), { name: 'files', type: 'files', path: tree }],
          toolVersion: 'test',
          redis: { batchKeys: 100 },
          onProgress: kill.onProgress,
        });
        expect(kill.killed).toBe(true);
        expect(result.status).toBe('partial');
        expect(result.snapshot.sources.map((s) => s.name)).toEqual(['files']);
        expect(result.failedSources).toEqual([
          {
            name: 'redis',
            type: 'redis',
            origin: `redis://127.0.0.1:${doomed.port}`,
            code: BackupErrorCode.REDIS_FAILED,
            reason: expect.stringMatching(
              /^The backup of Redis source "redis" \(redis:\/\/127\.0\.0\.1:\d+\) failed after \d+ keys/,
            ),
          },
        ]);
        expect(result.snapshot).toMatchObject({ status: 'partial', failedSources: result.failedSources, errors: [] });
        // The half-written Redis archive is gone: the snapshot's folder holds exactly what its metadata names.
        const stored = await readdir(path.join(dir, 'repo', 'data', result.snapshot.id));
        expect(stored.sort()).toEqual(
          result.snapshot.sources
            .flatMap((s) => [s.archive.key, s.index!.key])
            .map((k) => path.basename(k))
            .sort(),
        );
      } finally {
        await doomed.stop();
      }
    },
  );

  it('builds an incremental only on a snapshot that read the same Redis target', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const backup = (url: string) =>
      runBackup(repo, {
        sources: [{ name: 'files', type: 'files', path: tree }, redisSource(url, { dbs: [0] })],
        toolVersion: 'test',
      });
    const first = await backup(server.url);
    const moved = await backup(`${server.url}/1`);
    expect(moved.snapshot.kind).toBe('full');
    expect(moved.chain).toContain(
      `source "redis" now reads redis://127.0.0.1:${server.port}/1, but the newest snapshot of these sources`,
    );
    expect(moved.chain).toContain(`(${first.snapshot.id}) read redis://127.0.0.1:${server.port}: a new chain starts`);
    const again = await backup(`${server.url}/1`);
    expect(again.snapshot).toMatchObject({ kind: 'incremental', parent: moved.snapshot.id });
  });

  it(
    'backs up the files when Redis cannot be reached ' + 'at all, and fails only when no source could be read',
    async () => {
      const tree = path.join(dir, 'tree');
      await makeSampleTree(tree);
      const dead = redisSource('redis://:hunter2@127.0.0.1:1');
      const result = await runBackup(repo, {
        sources: [{ name: 'files', type: 'files', path: tree }, dead],
        toolVersion: 'test',
      });
      expect(result.status).toBe('partial');
      expect(result.failedSources).toEqual([
        expect.objectContaining({
          name: 'redis',
          origin: 'redis://:***@127.0.0.1:1',
          code: BackupErrorCode.REDIS_FAILED,
        }),
      ]);
      expect(JSON.stringify(result.snapshot)).not.toContain('hunter2');
      const none = await runBackup(repo, {
        sources: [dead, { name: 'gone', type: 'files', path: path.join(dir, 'nope') }],
        toolVersion: 'test',
      }).catch((e) => e);
      expect(none).toMatchObject({
        code: BackupErrorCode.ALL_SOURCES_FAILED,
        message: expect.stringContaining('No source could be backed up'),
      });
      expect(none.message).toMatch(/Redis source "redis"[\s\S]*nope does not exist/);
      expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([result.snapshot.id]);
      expect(await readdir(path.join(dir, 'repo', 'data'))).toEqual([result.snapshot.id]);
    },
  );
});
