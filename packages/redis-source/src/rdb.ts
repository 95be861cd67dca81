import type { Redis } from 'ioredis';
import type { RedisConnection } from './connection.js';
import { redisFailure } from './errors.js';

/** Lowest RDB version each Redis release line writes (a lower bound is the safe side for a refusal). */
const RDB_BY_RELEASE: Array<[major: number, minor: number, rdb: number]> = [
  [7, 4, 12],
  [7, 2, 11],
  [7, 0, 10],
  [5, 0, 9],
  [4, 0, 8],
  [3, 2, 7],
  [2, 6, 6],
];

/** The RDB version a Redis release writes, from its `redis_version`; undefined when unknown. */
export function rdbVersionOfRelease(version: string): number | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return RDB_BY_RELEASE.find(([a, b]) => major > a || (major === a && minor >= b))?.[2];
}

export interface TargetRdbVersion {
  rdbVersion: number | undefined;
  /**
   * How it was found: `dump` (of an existing key), `probe` (a key created and removed in one MULTI), `release` (INFO).
   */
  how: 'dump' | 'probe' | 'release' | 'unknown';
  serverVersion: string;
}

function versionOf(payload: Buffer | null): number | undefined {
  return payload && payload.length >= 11 ? payload.readUInt16LE(payload.length - 10) : undefined;
}

/**
 * The RDB version a server writes, which is also the newest it reads. Asked of the server itself:
 * it DUMPs a key that is already there (read-only); on an empty server, unless `readOnly`, it
 * DUMPs a probe key created and deleted inside one MULTI (nothing else ever sees it); else it
 * maps INFO's `redis_version` to the release's RDB version, a lower bound.
 */
export async function targetRdbVersion(
  conn: RedisConnection,
  options: { readOnly?: boolean } = {},
): Promise<TargetRdbVersion> {
  const facts = await conn.facts();
  try {
    for (const node of conn.nodes()) {
      for (const db of (await conn.keyspace(node)).keys()) {
        const client: Redis = conn.mode === 'cluster' ? node : await conn.forDb(db);
        const key = await client.randomkeyBuffer();
        const v = key ? versionOf(await client.dumpBuffer(key)) : undefined;
        if (v !== undefined) return { rdbVersion: v, how: 'dump', serverVersion: facts.version };
      }
    }
    if (!options.readOnly) {
      const probe = `drkit:rdb-probe:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
      const client = conn.mode === 'cluster' ? conn.client : conn.nodes()[0]!;
      const replies = await client.multi().set(probe, '1').dumpBuffer(probe).del(probe).exec();
      const dumped = replies?.[1]?.[1] as Buffer | null | undefined;
      const v = versionOf(dumped ?? null);
      if (v !== undefined) return { rdbVersion: v, how: 'probe', serverVersion: facts.version };
    }
  } catch (cause) {
    // DUMP may be renamed or denied by an ACL: fall back to the release table.
    const e = redisFailure(cause, conn.label, 'find the RDB version');
    if (e.code !== 'REDIS_COMMAND') throw e;
  }
  const v = rdbVersionOfRelease(facts.version);
  return { rdbVersion: v, how: v === undefined ? 'unknown' : 'release', serverVersion: facts.version };
}
