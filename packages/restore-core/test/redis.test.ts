import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Repository } from '@drkit/repository';
import { RedisRestoreErrorCode, restoreRedis } from '@drkit/restore-core';
import { LocalStore } from '@drkit/storage';
import {
  type RunningRedis,
  redisContents,
  sameRedisContents,
  seedRedis,
  snapshotRedis,
  startRedis,
  tempDir,
  withRdbVersion,
} from '@drkit/test-support';

const execFileP = promisify(execFile);
const DBS = [0, 1, 3];
let server: RunningRedis;
let dir: string;
let cleanup: () => Promise<void>;
let repo: Repository;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server.stop());
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
  await server.client().flushall();
});
afterEach(() => cleanup());

async function caught(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('restoreRedis', () => {
  it('gives back identical keys, values and TTLs in every database after FLUSHALL (replace mode)', async () => {
    const c = server.client();
    await seedRedis(c);
    const before = await redisContents(c, DBS);
    const snap = await snapshotRedis(repo, c, DBS);
    await c.flushall();
    // A shared lock is held while the archive is read (checked as keys go in), and released after.
    const lockDir = path.join(dir, 'repo', 'locks');
    const locks = () =>
      (existsSync(lockDir) ? readdirSync(lockDir) : []).map(
        (n) => JSON.parse(readFileSync(path.join(lockDir, n), 'utf8')).purpose,
      );
    const seen: string[][] = [];
    const result = await restoreRedis(repo, {
      snapshot: snap.id,
      source: 'redis',
      target: { url: server.url },
      mode: 'replace',
      confirm: true,
      onProgress: () => seen.push(locks()),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((l) => l.length === 1 && l[0] === 'restore')).toBe(true);
    expect(locks()).toEqual([]);
    expect(result.restored).toBe(before.length);
    expect(result.skippedExpired).toBe(0);
    expect(result.flush).toEqual(DBS);
    expect(result.rdb.how).toBe('probe');
    expect(sameRedisContents(await redisContents(c, DBS), before)).toEqual([]);
  });

  it('writes large payloads to the socket without a copy and restores them byte for byte', async () => {
    const c = server.client();
    await seedRedis(c);
    await c.set('big', Buffer.alloc(3 << 20, 7));
    const before = await redisContents(c, DBS);
    const snap = await snapshotRedis(repo, c, DBS);
    await c.flushall();
    // Every payload of 1 KiB or more takes the no-copy path.
    await restoreRedis(repo, {
      snapshot: snap.id,
      source: 'redis',
      target: { url: server.url },
      mode: 'merge',
      largePayloadBytes: 1024,
    });
    expect(sameRedisContents(await redisContents(c, DBS), before)).toEqual([]);
  });

  it('does not hold a large key twice in memory while restoring it', async () => {
    const c = server.client();
    const size = 32 << 20;
    // Random bytes: Redis compresses repetitive strings in DUMP, which would hide the payload's size.
    await c.set('huge', randomBytes(size));
    const snap = await snapshotRedis(repo, c, [0]);
    await c.flushall();
    // Measured in a fresh process that collects garbage before every sample, so only live buffers count.
    const peakOf = async (largePayloadBytes: number) => {
      const script =
        `
        const { Repository } = await import('@drkit/repository');
        const { LocalStore } = await import('@drkit/storage');
        const { restoreRedis } = await import('@drkit/restore-core');
        const repo = await Repository.open(new LocalStore(process.env.REPO));
        globalThis.gc();
        const base = process.memoryUsage().arrayBuffers;
        let peak = 0;
        // A full GC before each sample: what is measured is live memory, not garbage chunks.
        const sample = () => { globalThis.gc(); peak = Math.max(peak, process.memoryUsage().arrayBuffers - base); };
        const timer = setInterval(sample, 10);
        await restoreRedis(repo, { snapshot: process.env.SNAP, source: 'redis', target: { url: process.env.URL }, ` +
        `mode: 'merge', largePayloadBytes: Number(process.env.LARGE) });
        clearInterval(timer);
        console.log(peak);`;
      const { stdout } = await execFileP(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
        cwd: path.resolve(import.meta.dirname, '..'),
        env: {
          ...process.env,
          REPO: path.join(dir, 'repo'),
          SNAP: snap.id,
          URL: server.url,
          LARGE: String(largePayloadBytes),
        },
      });
      return Number(stdout.trim());
    };
    const streamed = await peakOf(4 << 20);
    expect(await c.strlen('huge')).toBe(size);
    // The same restore through ioredis's own command encoding holds the payload twice: the measure sees it.
    const copied = await peakOf(Number.MAX_SAFE_INTEGER);
    expect(copied).toBeGreaterThan(size * 1.9);
    expect(streamed).toBeGreaterThan(size * 0.9);
    expect(streamed).toBeLessThan(size * 1.5);
  });

  it(
    'restores through pipelines for a user without scripting; a payload the server refuses stops the restore ' +
      'naming the key',
    async () => {
      const c = server.client();
      await c.call('ACL', 'SETUSER', 'noscript', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
      const limited = server.url.replace('redis://', 'redis://noscript:pw@');
      await seedRedis(c);
      const before = await redisContents(c, DBS);
      const good = await snapshotRedis(repo, c, DBS);
      await c.flushall();
      await restoreRedis(repo, {
        snapshot: good.id,
        source: 'redis',
        target: { url: limited },
        mode: 'replace',
        confirm: true,
      });
      expect(sameRedisContents(await redisContents(c, DBS), before)).toEqual([]);

      const damaged = await snapshotRedis(repo, c, [1], {
        tamper: (r) =>
          r.key.toString() === 'user:1'
            ? {
                ...r,
                payload: Buffer.concat([
                  r.payload.subarray(0, 3),
                  Buffer.from([r.payload[3]! ^ 1]),
                  r.payload.subarray(4),
                ]),
              }
            : r,
      });
      for (const url of [server.url, limited]) {
        const err = await caught(
          restoreRedis(repo, { snapshot: damaged.id, source: 'redis', target: { url }, mode: 'merge' }),
        );
        expect(err.code).toBe(RedisRestoreErrorCode.FAILED);
        expect(err.message).toMatch(
          /stopped at key "user:1" after \d+ of 4 keys: .*DUMP payload version or checksum are wrong/,
        );
      }
    },
  );

  it('merge keeps the target’s other keys; records already expired are skipped and counted', async () => {
    const c = server.client();
    await c.set('keep', 'me');
    await c.set('soon', 'gone', 'PX', 300);
    await c.set('shared', 'old');
    const snap = await snapshotRedis(repo, c, [0]);
    await c.set('shared', 'changed');
    await c.set('target-only', 'stays');
    await new Promise((r) => setTimeout(r, 400));
    const result = await restoreRedis(repo, {
      snapshot: snap.id,
      source: 'redis',
      target: { url: server.url },
      mode: 'merge',
    });
    expect(result).toMatchObject({ restored: 2, skippedExpired: 1, flush: [] });
    expect(await c.mget('keep', 'shared', 'target-only', 'soon')).toEqual(['me', 'old', 'stays', null]);
  });

  it('refuses, before writing anything, a target older than the payloads (newer RDB version)', async () => {
    const c = server.client();
    await seedRedis(c);
    const snap = await snapshotRedis(repo, c, DBS, {
      tamper: (r) => (r.key.toString() === 'str' ? { ...r, payload: withRdbVersion(r.payload, 99) } : r),
    });
    expect(snap.sources[0]!.redis!.rdbVersion).toBe(99);
    await c.flushall();
    await c.set('precious', 'still here');
    const before = await redisContents(c, DBS);
    const err = await caught(
      restoreRedis(repo, {
        snapshot: snap.id,
        source: 'redis',
        target: { url: server.url },
        mode: 'replace',
        confirm: true,
      }),
    );
    expect(err.code).toBe(RedisRestoreErrorCode.TARGET_TOO_OLD);
    expect(err.message).toMatch(
      new RegExp(
        `reads RDB version ${server.rdbVersion} at most, but snapshot .* holds payloads of RDB version ` +
          `99.*Refusing before writing anything`,
      ),
    );
    expect(sameRedisContents(await redisContents(c, DBS), before, 50)).toEqual([]);
  });

  it('refuses, before emptying or writing anything, a snapshot database the target cannot select', async () => {
    const c = server.client();
    await c.set('k99', 'v');
    await c.set('k2', 'v');
    // As if backed up from a server started with --databases 128; this one has the default 16.
    const snap = await snapshotRedis(repo, c, [0], {
      tamper: (r) => ({ ...r, db: r.key.toString() === 'k99' ? 99 : 2 }),
    });
    expect(snap.sources[0]!.redis!.dbs).toEqual([
      { db: 2, keys: 1 },
      { db: 99, keys: 1 },
    ]);
    await c.flushall();
    const p = c.pipeline();
    for (let i = 0; i < 50; i++) p.set(`live:${i}`, 'x');
    await p.exec();
    await server.client(2).set('live:2', 'x');
    const before = await redisContents(c, [0, 2]);
    for (const mode of ['replace', 'merge'] as const)
      for (const dryRun of [false, true]) {
        const err = await caught(
          restoreRedis(repo, {
            snapshot: snap.id,
            source: 'redis',
            target: { url: server.url },
            mode,
            confirm: true,
            dryRun,
          }),
        );
        expect(err).toMatchObject({ code: RedisRestoreErrorCode.TARGET_DB_MISSING, details: { dbs: [99] } });
        expect(err.message).toContain('database(s) 99, which the target');
      }
    expect(sameRedisContents(await redisContents(c, [0, 2]), before)).toEqual([]);
  });

  it('asks for confirmation before replace empties databases; a dry run plans without writing', async () => {
    const c = server.client();
    await c.set('a', '1');
    const snap = await snapshotRedis(repo, c, [0]);
    await c.set('b', '2');
    const err = await caught(
      restoreRedis(repo, { snapshot: snap.id, source: 'redis', target: { url: server.url }, mode: 'replace' }),
    );
    expect(err.code).toBe(RedisRestoreErrorCode.CONFIRM_REQUIRED);
    expect(err.message).toContain('2 key(s) in db 0');
    const plan = await restoreRedis(repo, {
      snapshot: snap.id,
      source: 'redis',
      target: { url: server.url },
      mode: 'replace',
      dryRun: true,
    });
    expect(plan).toMatchObject({
      dryRun: true,
      restored: 0,
      records: 1,
      flush: [0],
      dbs: [{ db: 0, keys: 1, targetKeys: 2 }],
    });
    expect((await c.keys('*')).sort()).toEqual(['a', 'b']);
  });
});
