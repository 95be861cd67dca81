import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countKeys,
  maskUrl,
  parseRedisUrl,
  rdbVersionOfRelease,
  RedisConnection,
  RedisErrorCode,
  targetRdbVersion,
  unlinkKeys,
} from '@drkit/redis-source';
import { type RunningRedis, startRedis } from '@drkit/test-support';

let server: RunningRedis;
let secured: RunningRedis;
beforeAll(async () => {
  [server, secured] = await Promise.all([startRedis(), startRedis({ password: 's3cr:t/pw' })]);
});
afterAll(async () => {
  await Promise.all([server.stop(), secured.stop()]);
});

async function caught(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('URLs', () => {
  it('parses redis:// and rediss:// URLs and never shows a password', () => {
    expect(parseRedisUrl('redis://:p%40ss@cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      password: 'p@ss',
      db: 2,
      tls: false,
    });
    expect(parseRedisUrl('rediss://user:pw@h')).toEqual({
      host: 'h',
      port: 6379,
      username: 'user',
      password: 'pw',
      tls: true,
    });
    expect(maskUrl('redis://:hunter2@h:1/0')).toBe('redis://:***@h:1/0');
    expect(maskUrl('rediss://admin:hunter2@h')).toBe('rediss://admin:***@h');
    expect(maskUrl('redis://h:1')).toBe('redis://h:1');
    // Unencoded special characters in a password (as an ${ENV} often holds) are still taken and hidden whole.
    expect(parseRedisUrl('redis://:p@ss/w:rd@h:7/1')).toEqual({
      host: 'h',
      port: 7,
      password: 'p@ss/w:rd',
      db: 1,
      tls: false,
    });
    expect(maskUrl('redis://:p@ss/w:rd@h:7/1')).toBe('redis://:***@h:7/1');
  });

  it('refuses what is not a Redis URL, without echoing the password', () => {
    for (const bad of ['http://:pw@h', 'redis://:pw@h/zero', 'not a url', 'redis://:pw@h:99999'])
      expect(() => parseRedisUrl(bad)).toThrow(
        expect.objectContaining({ code: RedisErrorCode.BAD_URL, message: expect.not.stringContaining(':pw@') }),
      );
  });
});

describe('connections', () => {
  it('connects with a password and reports the server facts', async () => {
    const conn = await RedisConnection.open({ url: secured.url });
    try {
      expect(conn.label).toBe(`redis://:***@127.0.0.1:${secured.port}`);
      expect(await conn.facts()).toEqual({ version: secured.version, mode: 'standalone', role: 'master', nodes: 1 });
    } finally {
      await conn.close();
    }
  });

  it('says clearly when the password is wrong or the server is not there', async () => {
    const auth = await caught(RedisConnection.open({ url: `redis://:wrong@127.0.0.1:${secured.port}` }));
    expect(auth.code).toBe(RedisErrorCode.AUTH);
    expect(auth.message).toContain(`redis://:***@127.0.0.1:${secured.port}`);
    expect(auth.message).not.toContain('wrong');
    const down = await caught(RedisConnection.open({ host: '127.0.0.1', port: 1, connectTimeoutMs: 2000 }));
    expect(down.code).toBe(RedisErrorCode.CONNECT);
    expect(down.hint).toMatch(/running and reachable/);
  });
});

describe('databases', () => {
  it(
    'refuses a database number the server does not have, at ' + 'connect and per database, instead of using database 0',
    async () => {
      const wide = await startRedis({ args: ['--databases', '128'] });
      try {
        const missing = await caught(RedisConnection.open({ url: `${server.url}/99` }));
        expect(missing).toMatchObject({
          code: RedisErrorCode.NO_SUCH_DB,
          message: expect.stringContaining('cannot select database 99'),
          hint: expect.stringContaining('databases 100'),
        });
        const conn = await RedisConnection.open({ url: server.url });
        try {
          expect(await caught(conn.forDb(16))).toMatchObject({ code: RedisErrorCode.NO_SUCH_DB, details: { db: 16 } });
          expect(await (await conn.forDb(15)).set('in-15', '1')).toBe('OK');
        } finally {
          await conn.close();
        }
        expect(await server.client(15).get('in-15')).toBe('1');
        expect(await server.client(0).exists('in-15')).toBe(0);
        const deep = await RedisConnection.open({ url: `${wide.url}/99` });
        try {
          await deep.nodes()[0]!.set('in-99', '1');
          await (await deep.forDb(127)).set('in-127', '1');
        } finally {
          await deep.close();
        }
        expect([
          await wide.client(99).get('in-99'),
          await wide.client(127).get('in-127'),
          await wide.client(0).dbsize(),
        ]).toEqual(['1', '1', 0]);
      } finally {
        await server.client(15).flushdb();
        await wide.stop();
      }
    },
  );
});

describe('RDB version of a target', () => {
  it(
    'comes from the server itself, read-only when it holds ' + 'a key, else from a probe that leaves nothing behind',
    async () => {
      const c = server.client();
      await c.flushall();
      const conn = await RedisConnection.open({ url: server.url });
      try {
        expect(await targetRdbVersion(conn, { readOnly: true })).toEqual({
          rdbVersion: rdbVersionOfRelease(server.version),
          how: 'release',
          serverVersion: server.version,
        });
        expect(await targetRdbVersion(conn)).toEqual({
          rdbVersion: server.rdbVersion,
          how: 'probe',
          serverVersion: server.version,
        });
        expect(await c.dbsize()).toBe(0);
        await server.client(2).set('x', '1');
        expect(await targetRdbVersion(conn, { readOnly: true })).toMatchObject({
          rdbVersion: server.rdbVersion,
          how: 'dump',
        });
      } finally {
        await conn.close();
        await c.flushall();
      }
    },
  );

  it('maps release lines to their RDB versions, erring low', () => {
    expect(rdbVersionOfRelease('6.2.14')).toBe(9);
    expect(rdbVersionOfRelease('7.0.15')).toBe(10);
    expect(rdbVersionOfRelease('7.2.4')).toBe(11);
    expect(rdbVersionOfRelease('8.0.0')).toBe(12);
    expect(rdbVersionOfRelease('garbage')).toBeUndefined();
  });
});

describe('revoking tokens', () => {
  it('counts, then removes exactly the matching keys in the chosen databases and nothing else', async () => {
    const c0 = server.client(0);
    const c1 = server.client(1);
    await c0.flushall();
    const p0 = c0.pipeline();
    for (let i = 0; i < 1500; i++) p0.set(`token:${i}`, 'x');
    p0.set('tokens:list', 'not a token').set('session:1', 's').set('xtoken:1', 'y');
    await p0.exec();
    await c1.set('token:db1', 'x');
    const conn = await RedisConnection.open({ url: server.url });
    try {
      expect(await countKeys(conn, { pattern: 'token:*', dbs: [0] })).toEqual([{ db: 0, keys: 1500 }]);
      expect(await countKeys(conn, { pattern: 'token:*' })).toEqual([
        { db: 0, keys: 1500 },
        { db: 1, keys: 1 },
      ]);
      expect(await unlinkKeys(conn, { pattern: 'token:*', dbs: [0] })).toEqual([{ db: 0, keys: 1500 }]);
      expect((await c0.keys('*')).sort()).toEqual(['session:1', 'tokens:list', 'xtoken:1']);
      expect(await c1.get('token:db1')).toBe('x');
    } finally {
      await conn.close();
      await c0.flushall();
    }
  });
});
