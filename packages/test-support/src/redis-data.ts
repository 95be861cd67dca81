import type { Redis } from 'ioredis';

/** A binary key and value (all 256 byte values) for binary-safety checks. */
export const BINARY_KEY = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80, 0x7f, 0x20, 0xc3]);
export const BINARY_VALUE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/**
 * Fills databases 0, 1 and 3 with every core type (string, hash, list, set, sorted set, stream),
 * binary keys and values, keys with and without a TTL, a few hundred small keys and a larger hash.
 * `client` must be on db 0; the others are selected on duplicates.
 */
export async function seedRedis(client: Redis): Promise<void> {
  const db1 = client.duplicate({ db: 1 });
  const db3 = client.duplicate({ db: 3 });
  try {
    await client.set('str', 'hello');
    await client.set('str:ttl', 'expires', 'PX', 3_600_000);
    await client.set(BINARY_KEY, BINARY_VALUE);
    await client.set('int', '12345');
    await client.hset('hash', { a: '1', b: 'two', ünï: 'cödé' });
    await client.hset(
      'hash:big',
      Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`field-${i}`, `value-${i}-${'x'.repeat(i % 50)}`])),
    );
    await client.rpush('list', 'a', 'b', 'c', Buffer.from([0, 1, 2]));
    await client.sadd('set', 'x', 'y', 'z');
    await client.sadd('set:ints', 1, 2, 3, 42);
    await client.zadd('zset', 1, 'one', 2.5, 'two-and-a-half', -3, 'minus-three');
    await client.xadd('stream', '1-1', 'event', 'login', 'user', 'u1');
    await client.xadd('stream', '2-0', 'event', 'logout', 'user', 'u1');
    await client.pexpire('hash', 7_200_000);
    const p = client.pipeline();
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) p.set(`session:${i}`, `data-${i}`, 'PX', 600_000 + i);
      else p.set(`session:${i}`, `data-${i}`);
    }
    await p.exec();
    await db1.set('token:a', 'A', 'PX', 900_000);
    await db1.set('token:b', 'B');
    await db1.hset('user:1', 'name', 'Ada');
    await db1.lpush('queue', 'job1', 'job2');
    await db3.zadd('leaderboard', 10, 'p1', 20, 'p2');
    await db3.set(Buffer.from('bin\x00key'), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  } finally {
    db1.disconnect();
    db3.disconnect();
  }
}

export interface RedisKeyState {
  db: number;
  /** Hex of the key bytes. */
  key: string;
  type: string;
  /** The value, normalised so that equal data compares equal (hex for bytes). */
  value: unknown;
  /** Absolute expiry (ms since the epoch, from this machine's clock and PTTL), or -1. */
  expireAt: number;
}

const hex = (b: Buffer) => b.toString('hex');

/** Every key of the given databases with type, value and TTL, sorted: what a user would compare. */
export async function redisContents(client: Redis, dbs: number[]): Promise<RedisKeyState[]> {
  const out: RedisKeyState[] = [];
  for (const db of dbs) {
    const c = client.duplicate({ db });
    try {
      let cursor = '0';
      do {
        const [next, keys] = (await c.scanBuffer(cursor, 'COUNT', 1000)) as [Buffer, Buffer[]];
        cursor = next.toString();
        for (const key of keys) {
          const type = await c.type(key);
          let value: unknown;
          if (type === 'string') value = hex((await c.getBuffer(key))!);
          else if (type === 'hash')
            value = Object.fromEntries(
              Object.entries(await c.hgetallBuffer(key))
                .map(([k, v]) => [k, hex(v)])
                .sort(),
            );
          else if (type === 'list') value = (await c.lrangeBuffer(key, 0, -1)).map(hex);
          else if (type === 'set') value = (await c.smembersBuffer(key)).map(hex).sort();
          else if (type === 'zset') value = await c.zrange(key, '0', '-1', 'WITHSCORES');
          else if (type === 'stream') value = await c.xrange(key, '-', '+');
          else value = '(unsupported)';
          const ttl = await c.pttl(key);
          out.push({ db, key: hex(key), type, value, expireAt: ttl < 0 ? -1 : Date.now() + ttl });
        }
      } while (cursor !== '0');
    } finally {
      c.disconnect();
    }
  }
  return out.sort((a, b) => a.db - b.db || a.key.localeCompare(b.key));
}

/** Compares two states: same keys, types and values; absolute expiries within `ttlToleranceMs`. */
export function sameRedisContents(actual: RedisKeyState[], expected: RedisKeyState[], ttlToleranceMs = 1000): string[] {
  const diffs: string[] = [];
  const byKey = new Map(expected.map((e) => [`${e.db}/${e.key}`, e]));
  for (const a of actual) {
    const e = byKey.get(`${a.db}/${a.key}`);
    if (!e) {
      diffs.push(`unexpected key db${a.db} ${a.key}`);
      continue;
    }
    byKey.delete(`${a.db}/${a.key}`);
    if (a.type !== e.type) diffs.push(`db${a.db} ${a.key}: type ${a.type}, expected ${e.type}`);
    else if (JSON.stringify(a.value) !== JSON.stringify(e.value)) diffs.push(`db${a.db} ${a.key}: value differs`);
    if ((a.expireAt === -1) !== (e.expireAt === -1) || Math.abs(a.expireAt - e.expireAt) > ttlToleranceMs)
      diffs.push(`db${a.db} ${a.key}: expires at ${a.expireAt}, expected ${e.expireAt}`);
  }
  for (const e of byKey.values()) diffs.push(`missing key db${e.db} ${e.key}`);
  return diffs;
}
