import type { Finding, RedisRecord } from '@drkit/repository';
import { displayKey, messageKey, rdbTypeName } from '@drkit/repository';
import {
  type RedisConnection,
  type RedisConnectionOptions,
  type RedisError,
  RedisErrorCode,
  redisFailure,
  scanKeys,
} from '@drkit/redis-source';
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
  /** Most keys per DUMP batch (default 512). */
  batchKeys?: number;
  /** Estimated payload bytes per DUMP batch (default 16 MiB); a bigger key is DUMPed alone. */
  batchBytes?: number;
  /** Keys of at least this MEMORY USAGE are DUMPed alone, outside Lua (default 4 MiB). */
  largeKeyBytes?: number;
  /** `false`: pipelines only, no Lua script (tests; servers where EVAL is not allowed). */
  script?: boolean;
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
 * One round trip for a batch of keys: the server's TIME, then PTTL and DUMP of each key while
 * the DUMPed bytes (estimated by MEMORY USAGE) stay within ARGV[1]; a key of ARGV[2] bytes or
 * more stops the batch (n = -1 when it is the first) so that it is DUMPed outside Lua, without
 * an extra copy on the server. Replies: sec, usec, n, then n pairs of (pttl, payload or nil).
 * Read-only, atomic per batch, and ~100× fewer client-side commands than a pipeline.
 */
const DUMP_BATCH_LUA = `
local budget, large = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local out = {t[1], t[2], 0}
local used, n = 0, 0
for _, k in ipairs(KEYS) do
  local size = redis.call('MEMORY', 'USAGE', k) or 0
  if size >= large then
    if n == 0 then n = -1 end
    break
  end
  if n > 0 and used + size > budget then break end
  out[#out + 1] = redis.call('PTTL', k)
  out[#out + 1] = redis.pcall('DUMP', k) or false
  used = used + size
  n = n + 1
end
out[3] = n
return out`;

// Scripting can be off (ACL, renamed EVAL, old servers): then pipelines do the same work.
const NO_SCRIPTING =
  /unknown command|NOSCRIPT|NOPERM|no permission|not allowed|disabled|Lua|script|CROSSSLOT|non.local key/i;

interface ScriptedClient extends Redis {
  drkitDumpBatchBuffer(numKeys: number, ...args: Array<Buffer | string | number>): Promise<unknown[]>;
}

/**
 * Reads a Redis source as records: SCAN (one reply at a time), then per batch the server's
 * TIME and PTTL + DUMP of each key, so an absolute expiry is the server's clock plus the
 * remaining TTL. Batches are bounded by key count and by the keys' MEMORY USAGE, so at most one
 * large payload (or a batch of small ones) is in memory at a time. By default a batch is one
 * read-only Lua script call; where scripting is unavailable (or on a cluster, whose keys span
 * slots) it is a pipeline. Keys that vanish between SCAN and DUMP are counted, not errors. In
 * `emergency` mode a key or connection that cannot be read is reported and the records read so
 * far are kept; otherwise it throws.
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
  const large = options.largeKeyBytes ?? 4 << 20;
  const nodes = conn.nodes();
  const problem = (db: number, key: Buffer | undefined, message: string) => {
    state.errors++;
    // The path names a live key whole (it is how the report identifies it); messages bound it.
    report.error({ kind: 'redis-read', ...(key ? { path: `db${db}:${displayKey(key)}` } : {}), message });
  };
  let scripting = conn.mode !== 'cluster' && options.script !== false;
  try {
    for (const [n, node] of nodes.entries()) {
      const where = nodes.length > 1 ? ` on cluster master ${n + 1}/${nodes.length}` : '';
      // Every database is selected before any is read: one the server does not have fails the backup up front
      // (in an emergency, like a missing path, it is reported and the others are read).
      const clients = new Map<number, Redis>();
      for (const db of await databasesToRead(conn, node, source.dbs)) {
        try {
          clients.set(db, conn.mode === 'cluster' ? node : await conn.forDb(db));
        } catch (e) {
          if (!options.emergency || (e as RedisError).code !== RedisErrorCode.NO_SUCH_DB) throw e;
          problem(db, undefined, (e as Error).message);
        }
      }
      for (const [db, client] of clients) {
        if (scripting && !('drkitDumpBatchBuffer' in client))
          client.defineCommand('drkitDumpBatch', { lua: DUMP_BATCH_LUA });
        const failed = (key: Buffer, message: string) => {
          if (!options.emergency)
            throw redisFailure(new Error(message), conn.label, `DUMP key ${messageKey(key)} of database ${db}${where}`);
          problem(db, key, `key ${messageKey(key)} of database ${db} could not be read: ${message}`);
        };
        let memoryUsage = true;
        for await (const keys of scanKeys(client, {
          pattern: source.pattern,
          count: options.scanCount ?? 1000,
          label: conn.label,
        })) {
          let start = 0;
          while (start < keys.length) {
            const slice = keys.slice(start, start + batchKeys);
            if (scripting) {
              let reply: unknown[] | undefined;
              try {
                reply = await (client as ScriptedClient).drkitDumpBatchBuffer(
                  slice.length,
                  ...slice,
                  batchBytes,
                  large,
                );
              } catch (e) {
                if (CONNECTION_LOST.test((e as Error).message) || !NO_SCRIPTING.test((e as Error).message)) throw e;
                scripting = false;
              }
              if (reply) {
                const done = Number(reply[2]);
                if (done === -1) {
                  // A large first key: DUMP it alone, outside Lua.
                  yield* dumpBatch(client, db, slice.slice(0, 1), state, failed);
                  start += 1;
                } else {
                  yield* scriptedRecords(reply, slice, db, state, failed);
                  start += done;
                }
                report.progress?.(state.keys, state.bytes, messageKey(keys[start - 1]!));
                continue;
              }
            }
            // Pipelines: estimated sizes decide the DUMP batches; MEMORY USAGE may be denied, then batches are small.
            let sizes: number[] = slice.map(() => batchBytes / 32);
            if (memoryUsage) {
              const p = client.pipeline();
              for (const k of slice) p.memory('USAGE', k);
              const res: Array<[Error | null, unknown]> = (await p.exec()) ?? [];
              if (res.some(([err]) => err && CONNECTION_LOST.test(err.message))) throw res.find(([err]) => err)![0];
              if (res.some(([err]) => err && /unknown|NOPERM|denied/i.test(err.message))) memoryUsage = false;
              else sizes = res.map(([, v]) => (typeof v === 'number' ? v : 0));
            }
            let end = 0;
            let estimate = 0;
            while (end < slice.length && (end === 0 || estimate + sizes[end]! <= batchBytes)) estimate += sizes[end++]!;
            yield* dumpBatch(client, db, slice.slice(0, end), state, failed);
            start += end;
            report.progress?.(state.keys, state.bytes, messageKey(keys[start - 1]!));
          }
        }
      }
    }
  } catch (cause) {
    if (!options.emergency) throw redisFailure(cause, conn.label, `read keys (after ${state.keys} keys)`);
    // Emergency: keep what was read; say plainly where reading stopped.
    problem(
      0,
      undefined,
      `reading Redis at ${conn.label} stopped after ${state.keys} keys: ` +
        `${(cause as Error)?.message ?? cause}; the snapshot holds the keys read before that`,
    );
  }
}

function* scriptedRecords(
  reply: unknown[],
  keys: Buffer[],
  db: number,
  state: RedisReadState,
  failed: (key: Buffer, message: string) => void,
): Generator<RedisRecord> {
  const now = Number(String(reply[0])) * 1000 + Math.floor(Number(String(reply[1])) / 1000);
  const n = Number(reply[2]);
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const ttl = reply[3 + 2 * i];
    const payload = reply[4 + 2 * i];
    reply[4 + 2 * i] = null;
    if (payload instanceof Error) {
      failed(key, payload.message);
      continue;
    }
    yield* record(db, key, payload as Buffer | null, Number(ttl), now, state);
  }
}

function* record(
  db: number,
  key: Buffer,
  payload: Buffer | null,
  ttl: number,
  now: number,
  state: RedisReadState,
): Generator<RedisRecord> {
  if (payload === null || ttl === -2) {
    state.vanished++;
    return;
  }
  state.keys++;
  state.bytes += key.length + payload.length;
  yield { db, key, type: rdbTypeName(payload), expireAt: ttl < 0 ? -1 : now + ttl, payload };
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
    yield* record(db, key, payload as Buffer | null, ttl as number, now, state);
  }
}
