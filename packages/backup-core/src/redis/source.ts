import type { Finding, RedisRecord } from '@drkit/repository';
import { displayKey, rdbTypeName } from '@drkit/repository';
import { type RedisConnection, type RedisConnectionOptions, redisFailure, scanKeys } from '@drkit/redis-source';
import type { Redis } from 'ioredis';

/** A Redis deployment backed up as one source: every key of the chosen databases, DUMPed. */
export interface RedisSource {
  name: string;
  type: 'redis';
  connection: RedisConnectionOptions;
  /** Databases to read: a list, or `all` (every database that holds keys). Default: the URL's `/db`, else all. */
  dbs?: number[] | 'all';
  /** Only keys matching this SCAN MATCH glob. */
  pattern?: string;
}

export interface RedisReadTuning {
  /** SCAN COUNT hint (default 1000). */
  scanCount?: number;
  /** Most keys per DUMP pipeline (default 512). */
  batchKeys?: number;
  /** Estimated payload bytes per DUMP pipeline (default 16 MiB); a bigger key is DUMPed alone. */
  batchBytes?: number;
}

export interface RedisReadReport {
  /** Something the user should know; the snapshot is still complete. */
  warn(f: Finding): void;
  /** Something was not backed up (emergency mode only); the snapshot becomes partial. */
  error(f: Finding): void;
  progress?(keys: number, bytes: number, key: string): void;
}

export interface RedisReadState {
  keys: number;
  bytes: number;
  vanished: number;
  errors: number;
}

/** The databases a source reads on one node: its list, the URL's `/db`, or every database holding keys. */
export async function databasesToRead(conn: RedisConnection, node: Redis, dbs: RedisSource['dbs']): Promise<number[]> {
  if (conn.mode === 'cluster') return [0];
  if (Array.isArray(dbs)) return [...new Set(dbs)].sort((a, b) => a - b);
  if (dbs === undefined && conn.defaultDb !== undefined) return [conn.defaultDb];
  return [...(await conn.keyspace(node)).keys()].sort((a, b) => a - b);
}

const CONNECTION_LOST = /Connection is closed|ECONNRESET|EPIPE|ECONNREFUSED|ETIMEDOUT|Stream isn't writeable/i;

/**
 * Reads a Redis source as records: SCAN (one reply at a time), then for each batch the server's
 * TIME plus DUMP and PTTL per key in one pipeline, so an absolute expiry is the server's clock
 * plus the remaining TTL. Batches are bounded by key count and by the keys' MEMORY USAGE, so at
 * most one large payload (or a batch of small ones) is in memory at a time. Keys that vanish
 * between SCAN and DUMP are counted, not errors. In `emergency` mode a key or connection that
 * cannot be read is reported and the records read so far are kept; otherwise it throws.
 */
export async function* readRedis(
  conn: RedisConnection,
  source: RedisSource,
  state: RedisReadState,
  report: RedisReadReport,
  options: RedisReadTuning & { emergency?: boolean } = {},
): AsyncGenerator<RedisRecord> {
  const batchKeys = options.batchKeys ?? 512;
  const batchBytes = options.batchBytes ?? 16 << 20;
  const nodes = conn.nodes();
  const problem = (db: number, key: Buffer | undefined, message: string) => {
    state.errors++;
    report.error({ kind: 'redis-read', ...(key ? { path: `db${db}:${displayKey(key)}` } : {}), message });
  };
  try {
    for (const [n, node] of nodes.entries()) {
      const where = nodes.length > 1 ? ` on cluster master ${n + 1}/${nodes.length}` : '';
      for (const db of await databasesToRead(conn, node, source.dbs)) {
        const client = conn.mode === 'cluster' ? node : await conn.forDb(db);
        let memoryUsage = true;
        for await (const keys of scanKeys(client, { pattern: source.pattern, count: options.scanCount ?? 1000, label: conn.label })) {
          // Estimated sizes decide the DUMP batches; MEMORY USAGE may be denied, then batches are small.
          let sizes: number[] = keys.map(() => batchBytes / 32);
          if (memoryUsage) {
            const p = client.pipeline();
            for (const k of keys) p.memory('USAGE', k);
            const res: Array<[Error | null, unknown]> = (await p.exec()) ?? [];
            if (res.some(([err]) => err && CONNECTION_LOST.test(err.message))) throw res.find(([err]) => err)![0];
            if (res.some(([err]) => err && /unknown|NOPERM|denied/i.test(err.message))) memoryUsage = false;
            else sizes = res.map(([, v]) => (typeof v === 'number' ? v : 0));
          }
          let start = 0;
          while (start < keys.length) {
            let end = start;
            let estimate = 0;
            while (end < keys.length && end - start < batchKeys && (end === start || estimate + sizes[end]! <= batchBytes)) estimate += sizes[end++]!;
            yield* dumpBatch(client, db, keys.slice(start, end), state, (key, message) => {
              if (!options.emergency) throw redisFailure(new Error(message), conn.label, `DUMP key ${displayKey(key)} of database ${db}${where}`);
              problem(db, key, `key ${displayKey(key)} of database ${db} could not be read: ${message}`);
            });
            report.progress?.(state.keys, state.bytes, displayKey(keys[end - 1]!));
            start = end;
          }
        }
      }
    }
  } catch (cause) {
    if (!options.emergency) throw redisFailure(cause, conn.label, `read keys (after ${state.keys} keys)`);
    // Emergency: keep what was read; say plainly where reading stopped.
    problem(0, undefined, `reading Redis at ${conn.label} stopped after ${state.keys} keys: ${(cause as Error)?.message ?? cause}; the snapshot holds the keys read before that`);
  }
}

async function* dumpBatch(
  client: Redis,
  db: number,
  keys: Buffer[],
  state: RedisReadState,
  failed: (key: Buffer, message: string) => void,
): AsyncGenerator<RedisRecord> {
  const p = client.pipeline();
  p.time();
  for (const k of keys) {
    p.dumpBuffer(k);
    p.pttl(k);
  }
  const res = (await p.exec()) ?? [];
  const connErr = res.find(([err]) => err && CONNECTION_LOST.test(err.message));
  if (connErr || res.length !== 1 + 2 * keys.length) throw connErr?.[0] ?? new Error('Connection is closed.');
  const [timeErr, time] = res[0]!;
  if (timeErr) throw timeErr;
  const [sec, usec] = time as [string, string];
  const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const [dumpErr, payload] = res[1 + 2 * i]!;
    const [ttlErr, ttl] = res[2 + 2 * i]!;
    // Release our reference as we go: the batch's replies are freed one by one.
    res[1 + 2 * i] = [null, null];
    if (dumpErr || ttlErr) {
      failed(key, (dumpErr ?? ttlErr)!.message);
      continue;
    }
    if (payload === null || ttl === -2) {
      state.vanished++;
      continue;
    }
    const buf = payload as Buffer;
    state.keys++;
    state.bytes += key.length + buf.length;
    yield { db, key, type: rdbTypeName(buf), expireAt: (ttl as number) < 0 ? -1 : now + (ttl as number), payload: buf };
  }
}
