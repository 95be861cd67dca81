import type { Repository, RedisRecord, SnapshotMeta } from '@drkit/repository';
import { crc64, rdbTypeName } from '@drkit/repository';
import type { Redis } from 'ioredis';

/**
 * DUMPs every key of `dbs` into a one-source snapshot through the repository writer alone (for
 * suites that must not depend on backup-core). `tamper` may change each record before it is written.
 */
export async function snapshotRedis(
  repo: Repository,
  client: Redis,
  dbs: number[],
  options: { source?: string; tamper?: (r: RedisRecord) => RedisRecord } = {},
): Promise<SnapshotMeta> {
  const version = /^redis_version:(.*)$/m.exec(await client.info('server'))?.[1]?.trim() ?? 'unknown';
  async function* records(): AsyncGenerator<RedisRecord> {
    for (const db of dbs) {
      const c = client.duplicate({ db });
      try {
        const [sec, usec] = await c.time();
        const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
        let cursor = '0';
        do {
          const [next, keys] = (await c.scanBuffer(cursor, 'COUNT', 1000)) as [Buffer, Buffer[]];
          cursor = next.toString();
          for (const key of keys) {
            const payload = (await c.dumpBuffer(key))!;
            const ttl = await c.pttl(key);
            const r: RedisRecord = { db, key, type: rdbTypeName(payload), expireAt: ttl < 0 ? -1 : now + ttl, payload };
            yield options.tamper ? options.tamper(r) : r;
          }
        } while (cursor !== '0');
      } finally {
        c.disconnect();
      }
    }
  }
  const writer = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
  await writer.writeRedisSource({ name: options.source ?? 'redis', type: 'redis' }, records(), () => ({
    server: { version, mode: 'standalone', role: 'master', nodes: 1 },
    skippedVanished: 0,
  }));
  return writer.commit();
}

/** A copy of a DUMP payload that claims another RDB version, with a valid CRC: a payload from a newer Redis. */
export function withRdbVersion(payload: Buffer, version: number): Buffer {
  const out = Buffer.from(payload);
  out.writeUInt16LE(version, out.length - 10);
  out.writeBigUInt64LE(crc64(out.subarray(0, out.length - 8)), out.length - 8);
  return out;
}
