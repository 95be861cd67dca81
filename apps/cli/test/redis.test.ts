import { open, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REDIS_MAGIC, Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import {
  describeTree,
  makeSampleTree,
  redisContents,
  type RunningRedis,
  sameRedisContents,
  seedRedis,
  snapshotRedis,
  startRedis,
  tempDir,
  withRdbVersion,
} from '@drkit/test-support';
import { drkit } from './cli.js';

const DBS = [0, 1, 3];
const PASSWORD = 'p4ss:w/rd';
let server: RunningRedis;
let dir: string;
let cleanup: () => Promise<void>;
let repo: string;

beforeAll(async () => {
  server = await startRedis({ password: PASSWORD });
});
afterAll(() => server.stop());
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  repo = path.join(dir, 'repo');
  await server.client().flushall();
  await drkit(['init', '--repo', repo]);
});
afterEach(() => cleanup());

const json = (s: string) => JSON.parse(s);

/** The stored archive of the Redis source `redis` of a snapshot. */
async function redisArchive(snapshotId: string): Promise<string> {
  const folder = path.join(repo, 'data', snapshotId);
  return path.join(folder, (await readdir(folder)).find((f) => f.startsWith('redis.redis.'))!);
}

/** `drkit restore ID --mode replace --yes --json` of the source `redis` into the test server. */
const replaceJson = (snapshotId: string) =>
  drkit([
    'restore',
    snapshotId,
    '--source',
    'redis',
    '--redis',
    server.url,
    '--repo',
    repo,
    '--mode',
    'replace',
    '--yes',
    '--json',
  ]);

/** Four bytes in the middle of the archive: the keys after them cannot be trusted. */
async function damageArchive(snapshotId: string): Promise<void> {
  const fh = await open(await redisArchive(snapshotId), 'r+');
  await fh.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, Math.floor((await fh.stat()).size / 2));
  await fh.close();
}

describe('drkit with Redis', () => {
  it('backs up, lists, verifies, and after FLUSHALL restores identical keys, values and TTLs', async () => {
    const c = server.client();
    await seedRedis(c);
    const before = await redisContents(c, DBS);
    const b = await drkit(['backup', '--redis', server.url, '--repo', repo, '--json']);
    expect(b.stderr).not.toContain(PASSWORD);
    expect(b.code).toBe(0);
    const out = json(b.stdout);
    expect(out.sources).toEqual([
      expect.objectContaining({
        name: 'redis',
        keys: before.length,
        server: server.version,
        rdbVersion: server.rdbVersion,
        pointInTime: false,
      }),
    ]);
    expect(b.stdout).not.toContain(PASSWORD);

    const list = json((await drkit(['snapshots', '--json', '--repo', repo])).stdout);
    expect(list).toEqual([expect.objectContaining({ id: out.id, sources: ['redis'] })]);
    const ls = await drkit(['ls', 'latest', 'token:*', '--repo', repo]);
    expect(ls.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^db1\s+string .* redis\/"token:[ab]"$/),
      expect.stringMatching(/redis\/"token:[ab]"$/),
    ]);
    const v = await drkit(['verify', 'latest', '--repo', repo, '--json']);
    expect(v.code).toBe(0);
    expect(json(v.stdout).snapshots[0].sources[0]).toMatchObject({ name: 'redis', ok: true, entries: before.length });

    await c.flushall();
    const r = await drkit([
      'restore',
      out.id,
      '--source',
      'redis',
      '--redis',
      server.url,
      '--mode',
      'replace',
      '--yes',
      '--repo',
      repo,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({
      restored: before.length,
      skippedExpired: 0,
      mode: 'replace',
      target: `redis://:***@127.0.0.1:${server.port}`,
    });
    // Where the keys came from: snapshot, time, host and the (masked) server they were read from.
    expect(json(r.stdout).from).toEqual([
      {
        source: 'redis',
        type: 'redis',
        snapshot: out.id,
        time: out.time,
        host: hostname(),
        origin: `redis://:***@127.0.0.1:${server.port}`,
      },
    ]);
    expect(r.stdout).not.toContain(PASSWORD);
    expect(sameRedisContents(await redisContents(c, DBS), before)).toEqual([]);
  });

  it(
    'a replace interrupted part-way says which databases it left incomplete, without the password; the same ' +
      'command finishes it',
    async () => {
      const c = server.client();
      await seedRedis(c);
      const bulk = c.pipeline();
      for (let i = 0; i < 700; i++) bulk.set(`bulk:${i}`, `v${i}`);
      await bulk.exec();
      const before = await redisContents(c, DBS);
      expect((await drkit(['backup', '--redis', server.url, '--repo', repo])).code).toBe(0);
      const args = [
        'restore',
        'latest',
        '--source',
        'redis',
        '--redis',
        server.url,
        '--mode',
        'replace',
        '--yes',
        '--repo',
        repo,
      ];
      // Stopped after the first batch of 512 RESTOREs, in db 0.
      const r = await drkit(args, {
        env: { DRKIT_FAILPOINTS: 'restore.redis.after-batch=hang' },
        onStderrLine: (l, pid) => l.includes('hanging') && process.kill(pid, 'SIGINT'),
      });
      expect(r.code).toBe(130);
      const keys = (db: number) => before.filter((k) => k.db === db).length;
      const line = r.stderr.trimEnd().split('\n').at(-1);
      expect(line).toContain(
        `drkit: interrupted by SIGINT [RESTORE_REDIS_INTERRUPTED]: The restore into ` +
          `redis://:***@127.0.0.1:${server.port} was interrupted after 512 of ${before.length} keys; databases ` +
          `left incomplete: db 0 (512 of ${keys(0)} keys), db 1 (0 of ${keys(1)} keys), db 3 (0 of ${keys(3)} ` +
          `keys), emptied first. To finish: drkit restore latest --source redis --redis ` +
          `'redis://:***@127.0.0.1:${server.port}' --mode replace --yes`,
      );
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(await c.dbsize()).toBe(512);
      expect((await drkit(args)).code).toBe(0);
      expect(sameRedisContents(await redisContents(c, DBS), before)).toEqual([]);
    },
  );

  it('restores into the config’s server by source name; replace needs --yes and --dry-run writes nothing', async () => {
    const c = server.client();
    await c.set('session:1', 'a');
    const cfg = path.join(dir, 'drkit.config.yaml');
    await writeFile(
      cfg,
      `repository: ./repo\nsources:\n  - name: cache\n    type: redis\n    host: 127.0.0.1\n` +
        `    port: ${server.port}\n    password: \${REDIS_PASSWORD}\n`,
    );
    const env = { REDIS_PASSWORD: PASSWORD };
    const b = await drkit(['backup', '--json'], { cwd: dir, env });
    expect(b.code).toBe(0);
    await c.set('session:2', 'b');
    const refused = await drkit(['restore', 'latest', '--source', 'cache', '--mode', 'replace', '--json'], {
      cwd: dir,
      env,
    });
    expect(refused.code).toBe(1);
    expect(json(refused.stdout).error).toMatchObject({
      code: 'RESTORE_REDIS_CONFIRM_REQUIRED',
      message: expect.stringContaining('2 key(s) in db 0'),
    });
    const dry = await drkit(['restore', 'latest', '--source', 'cache', '--mode', 'replace', '--dry-run'], {
      cwd: dir,
      env,
    });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('db 0: 1 keys to restore; the target holds 2 now, emptied first (FLUSHDB)');
    expect(dry.stdout).toContain(
      `  cache: snapshot ${json(b.stdout).id} of ${json(b.stdout).time} from host ${hostname()}, `,
    );
    expect((await c.keys('*')).sort()).toEqual(['session:1', 'session:2']);
    const ok = await drkit(['restore', 'latest', '--source', 'cache', '--mode', 'replace', '--yes'], { cwd: dir, env });
    expect(ok.code).toBe(0);
    expect(await c.keys('*')).toEqual(['session:1']);
  });

  it('refuses to restore into a server older than the payloads, before writing anything', async () => {
    const c = server.client();
    await seedRedis(c);
    await Repository.open(new LocalStore(repo)).then((r) =>
      snapshotRedis(r, c, DBS, {
        tamper: (rec) =>
          rec.key.toString() === 'hash' ? { ...rec, payload: withRdbVersion(rec.payload, server.rdbVersion + 1) } : rec,
      }),
    );
    await c.set('precious', 'x');
    const before = await redisContents(c, DBS);
    const r = await drkit([
      'restore',
      'latest',
      '--source',
      'redis',
      '--redis',
      server.url,
      '--mode',
      'replace',
      '--yes',
      '--repo',
      repo,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({
      code: 'RESTORE_REDIS_TARGET_TOO_OLD',
      message: expect.stringContaining(`reads RDB version ${server.rdbVersion} at most, but snapshot`),
    });
    expect(r.stderr).toContain('Nothing was changed');
    expect(sameRedisContents(await redisContents(c, DBS), before, 50)).toEqual([]);
  });

  it('fails clearly, without a snapshot and without showing the password, when Redis cannot be reached', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:1`;
    const b = await drkit(['backup', '--redis', url, '--repo', repo, '--json']);
    expect(b.code).toBe(1);
    expect(json(b.stdout).error).toMatchObject({
      code: 'BACKUP_REDIS_FAILED',
      message: expect.stringContaining('redis://:***@127.0.0.1:1'),
    });
    expect(b.stdout + b.stderr).not.toContain(PASSWORD);
    expect(json((await drkit(['snapshots', '--json', '--repo', repo])).stdout)).toEqual([]);
  });

  it('takes an emergency snapshot of what it can read, tagged emergency, beside a path that is gone', async () => {
    await seedRedis(server.client());
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const b = await drkit([
      'backup',
      tree,
      path.join(dir, 'missing'),
      '--redis',
      server.url,
      '--emergency',
      '--repo',
      repo,
      '--json',
    ]);
    expect(b.code).toBe(3);
    const out = json(b.stdout);
    expect(out).toMatchObject({ status: 'partial', tags: ['emergency'] });
    expect(out.errors).toEqual([]);
    expect(out.failedSources).toEqual([
      expect.objectContaining({
        name: 'missing',
        code: 'BACKUP_SOURCE_MISSING',
        reason: expect.stringContaining('missing does not exist'),
      }),
    ]);
    expect(out.sources.map((s: { name: string }) => s.name)).toEqual(['tree', 'redis']);
    // A file restore of a mixed snapshot restores the folders and leaves Redis to its own command.
    const target = path.join(dir, 'restored');
    const r = await drkit(['restore', 'latest', '--target', target, '--repo', repo]);
    expect(r.code).toBe(0);
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
  });

  it(
    'refuses a database the server does not have, before reading or emptying anything (backup of /99, restore ' +
      'of db 99)',
    async () => {
      const wide = await startRedis({ args: ['--databases', '128'] });
      try {
        await wide.client(99).set('k99', 'from db 99');
        expect((await drkit(['backup', '--redis', `${wide.url}/99`, '--repo', repo, '--json'])).code).toBe(0);
        const c = server.client();
        const p = c.pipeline();
        for (let i = 0; i < 50; i++) p.set(`db0:${i}`, 'live');
        await p.exec();
        const before = await redisContents(c, [0]);

        for (const mode of ['replace', 'merge'])
          for (const dry of [[], ['--dry-run']]) {
            const r = await drkit([
              'restore',
              'latest',
              '--source',
              'redis',
              '--redis',
              server.url,
              '--mode',
              mode,
              '--yes',
              ...dry,
              '--repo',
              repo,
              '--json',
            ]);
            expect(r.code).toBe(1);
            expect(json(r.stdout).error).toMatchObject({
              code: 'RESTORE_REDIS_TARGET_DB_MISSING',
              message: expect.stringMatching(
                // long-line: a regex over the whole message, as the user reads it
                /database\(s\) 99, which the target .* cannot select: it answered "ERR DB index is out of range"\. Nothing was emptied or written\./,
              ),
              hint: expect.stringContaining('at least 100 databases'),
            });
          }
        expect(sameRedisContents(await redisContents(c, [0]), before)).toEqual([]);
        expect(await c.exists('k99')).toBe(0);

        // Backing up db 99 of a 16-database server is refused too, instead of reading db 0 as "db99".
        const b = await drkit(['backup', '--redis', `${server.url}/99`, '--repo', repo, '--json']);
        expect(b.code).toBe(1);
        expect(json(b.stdout).error).toMatchObject({
          code: 'BACKUP_REDIS_FAILED',
          message: expect.stringContaining('cannot select database 99'),
          hint: expect.stringContaining('databases 100'),
        });
        expect(json((await drkit(['snapshots', '--json', '--repo', repo])).stdout)).toHaveLength(1);
      } finally {
        await wide.stop();
      }
    },
  );

  it('revoke-tokens counts first, and with --yes removes exactly the matching keys', async () => {
    const c = server.client();
    const p = c.pipeline();
    for (let i = 0; i < 1200; i++) p.set(`token:${i}`, 'secret', 'EX', 3600);
    p.set('token', 'not matched').set('tokens:index', 'not matched').set('session:1', 's');
    await p.exec();
    await server.client(1).set('token:other-db', 'x');
    const keysBefore = (await c.keys('*')).filter((k) => !k.startsWith('token:')).sort();
    const dry = await drkit([
      'redis',
      'revoke-tokens',
      '--redis',
      server.url,
      '--pattern',
      'token:*',
      '--db',
      '0',
      '--json',
    ]);
    expect(dry.code).toBe(2);
    expect(json(dry.stdout)).toMatchObject({ matched: [{ db: 0, keys: 1200 }], removed: 0, confirmed: false });
    expect(await c.dbsize()).toBe(1203);
    const go = await drkit([
      'redis',
      'revoke-tokens',
      '--redis',
      server.url,
      '--pattern',
      'token:*',
      '--db',
      '0',
      '--yes',
    ]);
    expect(go.code).toBe(0);
    expect(go.stdout).toContain(`removed 1200 keys matching "token:*" from redis://:***@127.0.0.1:${server.port}`);
    expect((await c.keys('*')).sort()).toEqual(keysBefore);
    expect(await server.client(1).get('token:other-db')).toBe('x');
  });

  it(
    'restore --salvage: a damaged archive is refused with its own code before anything is written; an intact ' +
      'one is restored as usual',
    async () => {
      const c = server.client();
      await seedRedis(c);
      const before = await redisContents(c, DBS);
      const backup = async () =>
        json((await drkit(['backup', '--redis', server.url, '--repo', repo, '--json'])).stdout);
      const [damaged, intact] = [await backup(), await backup()];
      const restore = (id: string, more: string[]) =>
        drkit(['restore', id, '--source', 'redis', '--redis', server.url, '--repo', repo, '--salvage', ...more]);

      await damageArchive(damaged.id);
      await c.flushall();
      await c.set('live', 'kept');
      for (const mode of [
        ['--mode', 'replace', '--yes'],
        ['--mode', 'merge'],
        ['--mode', 'replace', '--dry-run'],
      ]) {
        const r = await restore(damaged.id, [...mode, '--json']);
        expect(r.code, mode.join(' ')).toBe(1);
        const err = json(r.stdout).error;
        expect(err.code).toBe('RESTORE_REDIS_CANNOT_SALVAGE');
        expect(err.message).toMatch(
          /is damaged, and --salvage cannot restore part of a Redis archive.*Nothing was written/,
        );
        expect(err.hint).toContain('from another snapshot');
        // Not emptied, not half-restored: the server holds what it held.
        expect(await c.keys('*')).toEqual(['live']);
        expect(await server.client(1).dbsize()).toBe(0);
      }

      await c.flushall();
      const r = await restore(intact.id, ['--mode', 'merge']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('salvage: no damage found');
      expect(sameRedisContents(await redisContents(c, DBS), before)).toEqual([]);
    },
  );

  for (const [what, code, spoil] of [
    ['damaged', 'REPO_CORRUPT_ARCHIVE', damageArchive],
    ['missing', 'STORAGE_NOT_FOUND', async (id: string) => rm(await redisArchive(id))],
  ] as const)
    it(`restore --mode replace refuses a ${what} archive before emptying a server that holds keys`, async () => {
      const c = server.client();
      await seedRedis(c);
      const b = json((await drkit(['backup', '--redis', server.url, '--repo', repo, '--json'])).stdout);
      await spoil(b.id);
      // The live server has moved on since the backup: that is what a refused replace must keep.
      await c.set('str', 'changed since the backup');
      await server.client(1).set('live:db1', 'kept');
      await server.client(5).set('live:db5', 'kept');
      const live = await redisContents(c, [...DBS, 5]);
      const r = await replaceJson(b.id);
      expect(sameRedisContents(await redisContents(c, [...DBS, 5]), live)).toEqual([]);
      expect(r.code, r.stderr).toBe(1);
      const err = json(r.stdout).error;
      expect(err.code).toBe(code);
      expect(err.message).toMatch(/Nothing was written: redis:\/\/.* still holds its \d+ key\(s\) in db 0, /);
      expect(err.hint).toContain('from another snapshot');
    });

  it('restore --mode replace into an empty server proceeds, and at the damage says it is partly restored', async () => {
    const c = server.client();
    await seedRedis(c);
    const b = json((await drkit(['backup', '--redis', server.url, '--repo', repo, '--json'])).stdout);
    await damageArchive(b.id);
    await c.flushall();
    const r = await replaceJson(b.id);
    expect(r.code, r.stderr).toBe(1);
    const err = json(r.stdout).error;
    expect(err.code).toBe('REPO_CORRUPT_ARCHIVE');
    expect(err.message).toMatch(/now holds only part of snapshot \S+: \d+ of \d+ keys; databases left incomplete: /);
    expect(err.hint).toMatch(/is partly restored\. Restore source "redis" from another snapshot/);
    // What it says it wrote is what the server holds.
    const held = (await Promise.all(DBS.map((db) => server.client(db).dbsize()))).reduce((a, n) => a + n, 0);
    expect(err.details.restored).toBe(held);
  });
});

describe('a damaged archive whose garbage "key" runs 5,000 bytes', () => {
  it('is named by its first 64 bytes and its length, in restore and in verify', async () => {
    const gz = path.join(dir, 'gz');
    expect((await drkit(['init', '--repo', gz, '--compression', 'gzip'])).code).toBe(0);
    await server.client().set('live', 'kept');
    const b = json((await drkit(['backup', '--redis', server.url, '--repo', gz, '--json'])).stdout);
    // The magic, then a record of db 0 whose key is 5,000 bytes long, and the archive ends after them.
    const header = Buffer.alloc(9);
    header[0] = 0x52;
    header.writeUInt32BE(5000, 5);
    const folder = path.join(gz, 'data', b.id);
    const archive = path.join(folder, (await readdir(folder)).find((f) => f.startsWith('redis.redis.'))!);
    await writeFile(
      archive,
      gzipSync(Buffer.concat([Buffer.from(REDIS_MAGIC, 'latin1'), header, Buffer.alloc(5000, 0xab)])),
    );
    const shown = `0x${'ab'.repeat(64)}… (5000 bytes)`;

    const r = await drkit([
      ...['restore', b.id, '--source', 'redis', '--redis', server.url, '--repo', gz, '--mode', 'merge', '--json'],
    ]);
    expect(r.code, r.stderr).toBe(1);
    const err = json(r.stdout).error;
    expect(err.code).toBe('REPO_CORRUPT_ARCHIVE');
    expect(err.message).toContain(
      `cannot be read at record 1 at key ${shown}: it is truncated after a key. Nothing was written: `,
    );
    expect(err.message.length).toBeLessThan(600);

    const v = await drkit(['verify', b.id, '--repo', gz]);
    expect(v.code).toBe(4);
    expect(v.stderr).toContain(`corrupt-archive ${shown}: `);
    expect(v.stderr.length).toBeLessThan(2000);
  });
});

describe('drkit restore of selected Redis keys', () => {
  it('restore --db refuses a damaged archive with its own code and says nothing was written', async () => {
    const c = server.client();
    await seedRedis(c);
    const b = json((await drkit(['backup', '--redis', server.url, '--repo', repo, '--json'])).stdout);
    await damageArchive(b.id);
    await server.client(1).set('live:db1', 'kept');
    const live = await redisContents(c, DBS);
    for (const [mode, after] of [
      [['--mode', 'replace', '--yes'], ', which a replace empties only when the snapshot can take their place.'],
      [['--mode', 'merge'], '.'],
    ] as const) {
      const r = await drkit([
        ...['restore', b.id, '--source', 'redis', '--redis', server.url, '--repo', repo, '--db', '1', '--json'],
        ...mode,
      ]);
      expect(r.code, r.stderr).toBe(1);
      const err = json(r.stdout).error;
      expect(err.code).toBe('REPO_CORRUPT_ARCHIVE');
      expect(err.message).toMatch(/^The archive of Redis source "redis" .* cannot be read at record \d+/);
      expect(err.message).toMatch(/Nothing was written: redis:\/\/\S+ still holds its \d+ key\(s\) in db 1/);
      expect(err.message.endsWith(after)).toBe(true);
      expect(err.details.written).toBe(false);
      expect(err.hint).toContain('from another snapshot');
      expect(sameRedisContents(await redisContents(c, DBS), live)).toEqual([]);
    }
  });

  it(
    '--include restores only matching keys (merge), --db only that database; nothing matched and replace with ' +
      '--include are refused',
    async () => {
      const c = server.client();
      await seedRedis(c);
      const before = await redisContents(c, DBS);
      expect((await drkit(['backup', '--redis', server.url, '--repo', repo])).code).toBe(0);
      await c.flushall();
      const restore = (...more: string[]) =>
        drkit(['restore', 'latest', '--source', 'redis', '--redis', server.url, ...more, '--repo', repo, '--json']);

      const dry = json(
        (await restore('--mode', 'merge', '--include', 'token:*', '--include', 'user:?', '--dry-run')).stdout,
      );
      expect(dry.plan).toMatchObject({
        records: 3,
        dbs: [{ db: 1, keys: 3, targetKeys: 0 }],
        selection: { include: ['token:*', 'user:?'] },
      });
      expect(await c.dbsize()).toBe(0);
      const some = await restore('--mode', 'merge', '--include', 'token:*', '--include', 'user:?');
      expect(some.code).toBe(0);
      expect(json(some.stdout).restored).toBe(3);
      const keyNames = (states: { db: number; key: string }[]) =>
        states.map((k) => `${k.db}/${Buffer.from(k.key, 'hex').toString()}`).sort();
      expect(keyNames(await redisContents(c, DBS))).toEqual(['1/token:a', '1/token:b', '1/user:1']);
      const selected = before.filter(
        (k) => k.db === 1 && /^(token:.*|user:.)$/.test(Buffer.from(k.key, 'hex').toString()),
      );
      expect(sameRedisContents(await redisContents(c, DBS), selected)).toEqual([]);

      const db3 = await restore('--mode', 'replace', '--yes', '--db', '3');
      expect(json(db3.stdout)).toMatchObject({ flush: [3], dbs: [expect.objectContaining({ db: 3 })] });
      expect(keyNames(await redisContents(c, [3]))).toEqual(keyNames(before.filter((k) => k.db === 3)));
      expect(keyNames(await redisContents(c, [0]))).toEqual([]);

      const none = json((await restore('--mode', 'merge', '--include', 'nothing:*')).stdout).error;
      expect(none).toMatchObject({ code: 'RESTORE_REDIS_NOTHING_SELECTED', hint: expect.stringContaining('drkit ls') });
      const noDb = json((await restore('--mode', 'merge', '--db', '7')).stdout).error;
      expect(noDb).toMatchObject({
        code: 'RESTORE_REDIS_NOTHING_SELECTED',
        message: expect.stringContaining('no keys in database(s) 7'),
      });
      const replace = json((await restore('--mode', 'replace', '--yes', '--include', 'token:*')).stdout).error;
      expect(replace).toMatchObject({
        code: 'RESTORE_REDIS_BAD_SELECTION',
        hint: expect.stringContaining('--mode merge'),
      });
      expect(keyNames(await redisContents(c, [1]))).toEqual(['1/token:a', '1/token:b', '1/user:1']);
    },
  );
});
