import { type DrkitError, failpoint, isDrkitError } from '@drkit/errors';
import { messageKey, type Repository, RepoError, type SourceMeta } from '@drkit/repository';
import { StorageErrorCode } from '@drkit/storage';
import {
  type RedisConnection,
  type RedisConnectionOptions,
  RedisConnection as Connection,
  RedisError,
  RedisErrorCode,
  redisFailure,
  targetRdbVersion,
} from '@drkit/redis-source';
import type { Cluster, Redis } from 'ioredis';
import { RedisRestoreError, RedisRestoreErrorCode } from './errors.js';
import { streamingRestore } from './streaming-restore.js';

export const REDIS_RESTORE_MODES = ['replace', 'merge'] as const;
export type RedisRestoreMode = (typeof REDIS_RESTORE_MODES)[number];

export interface RedisRestoreOptions {
  /** Snapshot id, unique prefix or `latest`. */
  snapshot: string;
  /** The Redis source of the snapshot to restore. */
  source: string;
  /** The server to restore into. */
  target: RedisConnectionOptions;
  /**
   * `replace`: FLUSHDB each database the snapshot holds, then restore (needs `confirm`); when they hold
   * keys, the archive is read through first and a damaged or missing one refused before anything is written.
   * `merge`: keep the target's other keys; keys of the snapshot replace keys of the same name.
   */
  mode: RedisRestoreMode;
  /** Only keys matching one of these Redis globs (`user:*`, as SCAN MATCH reads them); merge mode only. */
  include?: string[];
  /** Only these databases (replace empties only them). */
  dbs?: number[];
  confirm?: boolean;
  /** Preflight and plan only: nothing is written (not even a probe key). */
  dryRun?: boolean;
  /**
   * Asked to salvage: the whole archive is read and checked first, and a damaged one is refused
   * (RESTORE_REDIS_CANNOT_SALVAGE) before anything is written; an intact one is restored as usual.
   */
  salvage?: boolean;
  /** Most RESTOREs per pipeline (default 512). */
  batchKeys?: number;
  /** Payload bytes per pipeline (default 16 MiB). */
  batchBytes?: number;
  /** Payloads at least this big are written alone, without a copy (default 4 MiB). */
  largePayloadBytes?: number;
  /** `false`: pipelines only, no Lua script per batch (tests; servers where EVAL is not allowed). */
  script?: boolean;
  onProgress?: (p: { restored: number; skippedExpired: number; records: number; key: string }) => void;
  /** Told when the repository cannot be locked (it is read-only), so the restore runs without a lock. */
  onWarning?: (message: string) => void;
  /**
   * Stops the restore after the batch in flight; the error names the databases left incomplete
   * (RESTORE_REDIS_INTERRUPTED).
   */
  signal?: AbortSignal;
}

export interface RedisRestorePlan {
  snapshot: string;
  source: string;
  target: string;
  mode: RedisRestoreMode;
  dryRun: boolean;
  records: number;
  /** Per database restored: keys of the snapshot to restore (those selected), keys the target holds now. */
  dbs: Array<{ db: number; keys: number; targetKeys: number }>;
  /** What `include` / `dbs` selected; records is then the count selected. */
  selection?: { include?: string[]; dbs?: number[] };
  /** Databases that FLUSHDB empties first (replace mode). */
  flush: number[];
  rdb: { snapshot: number | null; target: number | undefined; how: string; targetServer: string };
  sourceServer: string;
  note: string;
}

export interface RedisRestoreResult extends RedisRestorePlan {
  restored: number;
  skippedExpired: number;
  durationMs: number;
  /** With `salvage`: what it found, in the file salvage's shape; only ever empty, since damage is refused. */
  salvage?: { damaged: never[]; lost: never[]; unverified: never[] };
}

function redisSourceOf(source: SourceMeta): NonNullable<SourceMeta['redis']> {
  if (!source.redis)
    throw new RedisRestoreError(
      RedisRestoreErrorCode.NOT_REDIS,
      `Source "${source.name}" is a ${source.type} source, not a Redis source.`,
      {
        hint: 'Restore file sources into a folder with --target DIR.',
        details: { source: source.name },
      },
    );
  return source.redis;
}

/**
 * Restores a Redis source into a server: a preflight that writes nothing (RDB version, cluster
 * databases, confirmation; for a `replace` of databases that hold keys, a read of the whole archive),
 * then for `replace` a FLUSHDB of each database, then pipelined
 * `RESTORE … REPLACE ABSTTL` of every record in archive order. Records already expired by the
 * target's clock are skipped and counted. One payload is read into memory at a time, and a
 * large one is written to the socket without a copy.
 */
export async function restoreRedis(repo: Repository, options: RedisRestoreOptions): Promise<RedisRestoreResult> {
  const started = Date.now();
  const snapshot = await repo.resolveSnapshot(options.snapshot);
  const source = repo.source(snapshot, options.source);
  const meta = redisSourceOf(source);
  const run = async () => {
    if (options.salvage)
      await readThrough(repo, source, options.signal, (cause, missing) =>
        cannotSalvage(snapshot.id, source, cause, missing),
      );
    const salvage = options.salvage ? { salvage: { damaged: [], lost: [], unverified: [] } } : {};
    const conn = await Connection.open(options.target);
    try {
      const selected = await selectedKeys(repo, snapshot.id, source, meta, options).catch(async (cause) => {
        const damage = damageOf(cause);
        if (!damage) throw cause;
        const keys = await targetKeys(conn);
        const dbs = meta.dbs.filter((d) => !options.dbs?.length || options.dbs.includes(d.db));
        throw nothingWritten(damage, {
          snapshot: snapshot.id,
          source: source.name,
          target: conn.label,
          mode: options.mode,
          dbs: dbs.map((d) => ({ db: d.db, targetKeys: keys.get(d.db) ?? 0 })),
        });
      });
      const plan = await preflight(conn, snapshot.id, source, meta, options, selected);
      // A selection (or salvage) has read the archive through already; an empty target has nothing to lose.
      if (!options.dryRun && !options.salvage && !selected.filter && wouldEmptyKeys(plan))
        await readThrough(repo, source, options.signal, (cause) => nothingWritten(cause, plan));
      if (options.dryRun)
        return { ...plan, restored: 0, skippedExpired: 0, durationMs: Date.now() - started, ...salvage };
      const counts = await write(repo, conn, source, plan, options, selected.filter);
      return { ...plan, ...counts, durationMs: Date.now() - started, ...salvage };
    } finally {
      await conn.close();
    }
  };
  // Shared, from before the preflight: a prune must not delete the archive after a replace emptied the databases.
  return options.dryRun ? run() : repo.withReadLock('restore', options.onWarning, run);
}

/** Replace mode and the target holds keys in a database it would empty. */
const wouldEmptyKeys = (plan: RedisRestorePlan) => plan.mode === 'replace' && plan.dbs.some((d) => d.targetKeys > 0);

/** A missing archive, or a damaged one (its framing, a record or its sha256). */
const damageOf = (cause: unknown): DrkitError | undefined =>
  cause instanceof RepoError || (cause as { code?: string }).code === StorageErrorCode.NOT_FOUND
    ? (cause as DrkitError)
    : undefined;

/** The same error (class and code), told what the restore did to the target. */
function retold(cause: DrkitError, message: string, hint: string, details: Record<string, unknown>): DrkitError {
  const Same = cause.constructor as new (...args: ConstructorParameters<typeof DrkitError>) => DrkitError;
  return new Same(cause.code, message, { cause, hint, details: { ...cause.details, ...details } });
}

const otherSnapshotHint = (source: string, snapshotId: string) =>
  `Restore source "${source}" from another snapshot (\`drkit snapshots --source ${source}\`) or from another ` +
  `copy of the repository; \`drkit verify ${snapshotId}\` names the damaged records.`;

/** What to do after a failed restore: another snapshot for a damaged archive, else the error's own advice. */
const nextStep = (cause: DrkitError, source: string, snapshotId: string) =>
  damageOf(cause)
    ? otherSnapshotHint(source, snapshotId)
    : `${cause.hint ?? 'Fix the cause.'} Then run the same restore again (it replaces what it already wrote).`;

/**
 * Reads the whole archive (framing, every record, the blob's sha256) before anything is written,
 * and throws what `refuse` makes of a missing or damaged one.
 */
async function readThrough(
  repo: Repository,
  source: SourceMeta,
  signal: AbortSignal | undefined,
  refuse: (cause: DrkitError, missing: boolean) => Error,
): Promise<void> {
  try {
    for await (const _ of repo.readRedisRecords(source)) signal?.throwIfAborted();
  } catch (cause) {
    const damage = damageOf(cause);
    if (!damage) throw cause;
    throw refuse(damage, !(damage instanceof RepoError));
  }
}

/**
 * A damaged or missing archive asked to be salvaged: a Redis archive cannot be salvaged key by key,
 * since nothing checks a record's key, database and expiry (no index; the CRC-64 covers the value only).
 */
function cannotSalvage(snapshotId: string, source: SourceMeta, cause: DrkitError, missing: boolean): Error {
  return new RedisRestoreError(
    RedisRestoreErrorCode.CANNOT_SALVAGE,
    `The archive of Redis source "${source.name}" of snapshot ${snapshotId} is ` +
      `${missing ? 'missing' : 'damaged'}, and --salvage cannot restore part of a Redis archive: nothing in it ` +
      `checks a key's name, database and expiry (only each value has a CRC-64), so a key read after the ` +
      `damage could be restored under a wrong name. Nothing was written. (${cause.message})`,
    {
      cause,
      hint: otherSnapshotHint(source.name, snapshotId),
      details: { source: source.name, key: source.archive.key },
    },
  );
}

/**
 * A restore stopped before its first write (a damaged or missing archive, a storage error): the error
 * says that the target holds what it held; a replace empties its databases only when the snapshot can take their place.
 */
function nothingWritten(
  cause: DrkitError,
  plan: Pick<RedisRestorePlan, 'snapshot' | 'source' | 'target' | 'mode'> & {
    dbs: Array<{ db: number; targetKeys: number }>;
  },
): Error {
  const held = plan.dbs.filter((d) => d.targetKeys > 0);
  return retold(
    cause,
    `${cause.message} Nothing was written: ${plan.target} ${
      held.length
        ? `still holds its ${held.map((d) => `${d.targetKeys} key(s) in db ${d.db}`).join(', ')}` +
          `${plan.mode === 'replace' ? ', which a replace empties only when the snapshot can take their place' : ''}`
        : 'is as it was'
    }.`,
    nextStep(cause, plan.source, plan.snapshot),
    { written: false },
  );
}

/** Keys per database the target holds now (every node of a cluster). */
async function targetKeys(conn: RedisConnection): Promise<Map<number, number>> {
  const keys = new Map<number, number>();
  for (const node of conn.nodes())
    for (const [db, n] of await conn.keyspace(node)) keys.set(db, (keys.get(db) ?? 0) + n);
  return keys;
}

async function preflight(
  conn: RedisConnection,
  snapshotId: string,
  source: SourceMeta,
  meta: NonNullable<SourceMeta['redis']>,
  options: RedisRestoreOptions,
  selected: Selection,
): Promise<RedisRestorePlan> {
  const dbs = selected.dbs.map((d) => d.db);
  if (conn.mode === 'cluster' && dbs.some((db) => db !== 0))
    throw new RedisRestoreError(
      RedisRestoreErrorCode.CLUSTER_DB,
      `Snapshot ${snapshotId} holds keys in database(s) ${dbs.filter((d) => d !== 0).join(', ')}, but the ` +
        `target ${conn.label} is a Redis Cluster, which has only database 0. Nothing was written.`,
      { hint: 'Restore into a standalone server, or back up database 0 only for a cluster.', details: { dbs } },
    );
  await selectEach(conn, snapshotId, dbs);
  const rdb = await targetRdbVersion(conn, { readOnly: options.dryRun === true }).catch((e) => {
    throw redisFailure(e, conn.label, 'find its RDB version');
  });
  const snapRdb = meta.rdbVersion;
  if (snapRdb !== null && rdb.rdbVersion !== undefined && snapRdb > rdb.rdbVersion)
    throw new RedisRestoreError(
      RedisRestoreErrorCode.TARGET_TOO_OLD,
      `The target ${conn.label} (Redis ${rdb.serverVersion}) reads RDB version ${rdb.rdbVersion} at most, ` +
        `but snapshot ${snapshotId} holds payloads of RDB version ${snapRdb} (from ` +
        `Redis ${meta.server.version}). Refusing before writing anything.`,
      {
        hint:
          `Restore into a Redis at least as new as ${meta.server.version}, or upgrade the target first. ` +
          `Nothing was changed on ${conn.label}.`,
        details: {
          snapshotRdbVersion: snapRdb,
          targetRdbVersion: rdb.rdbVersion,
          targetServer: rdb.serverVersion,
          how: rdb.how,
        },
      },
    );
  if (snapRdb !== null && rdb.rdbVersion === undefined && options.mode === 'replace' && !options.dryRun)
    throw new RedisRestoreError(
      RedisRestoreErrorCode.TARGET_UNKNOWN_VERSION,
      `Cannot tell which RDB version the target ${conn.label} (Redis ${rdb.serverVersion}) reads, so a ` +
        `replace (which empties databases first) is refused. Nothing was written.`,
      {
        hint:
          'Use --mode merge (the server itself rejects payloads it cannot read, without emptying anything), ' +
          'or let drkit run DUMP on the target.',
      },
    );
  const held = await targetKeys(conn);
  const plan: RedisRestorePlan = {
    snapshot: snapshotId,
    source: source.name,
    target: conn.label,
    mode: options.mode,
    dryRun: options.dryRun === true,
    records: selected.records,
    dbs: selected.dbs.map((d) => ({ db: d.db, keys: d.keys, targetKeys: held.get(d.db) ?? 0 })),
    ...(selected.filter
      ? {
          selection: {
            ...(options.include?.length ? { include: options.include } : {}),
            ...(options.dbs?.length ? { dbs: options.dbs } : {}),
          },
        }
      : {}),
    flush: options.mode === 'replace' ? dbs : [],
    rdb: { snapshot: snapRdb, target: rdb.rdbVersion, how: rdb.how, targetServer: rdb.serverVersion },
    sourceServer: meta.server.version,
    note: meta.note,
  };
  const lost = plan.dbs.filter((d) => d.targetKeys > 0);
  if (options.mode === 'replace' && !options.confirm && !options.dryRun)
    throw new RedisRestoreError(
      RedisRestoreErrorCode.CONFIRM_REQUIRED,
      `Replace mode empties database(s) ${dbs.join(', ')} of ${conn.label} before restoring${
        lost.length
          ? `; they hold ${lost.map((d) => `${d.targetKeys} key(s) in db ${d.db}`).join(', ')} now, which would be lost`
          : ''
      }. Nothing was written.`,
      {
        hint:
          'Add --yes to confirm, or use --mode merge to keep the keys the snapshot does not have. --dry-run ' +
          'shows the plan.',
        details: { flush: dbs, targetKeys: Object.fromEntries(held) },
      },
    );
  return plan;
}

/**
 * Selects every database of the snapshot on the target before anything is emptied or written
 * (`CONFIG GET databases` may be denied, SELECT is what the restore needs anyway).
 */
async function selectEach(conn: RedisConnection, snapshotId: string, dbs: number[]): Promise<void> {
  if (conn.mode === 'cluster') return;
  const missing: RedisError[] = [];
  for (const db of dbs) {
    try {
      await conn.forDb(db);
    } catch (e) {
      if (!(e instanceof RedisError) || e.code !== RedisErrorCode.NO_SUCH_DB) throw e;
      missing.push(e);
    }
  }
  if (missing.length === 0) return;
  const numbers = missing.map((e) => e.details?.db as number);
  throw new RedisRestoreError(
    RedisRestoreErrorCode.TARGET_DB_MISSING,
    `Snapshot ${snapshotId} holds keys in database(s) ${numbers.join(', ')}, which the target ${conn.label} ` +
      `cannot select: it answered "${(missing[0]!.cause as Error)?.message}". Nothing was emptied or written.`,
    {
      cause: missing[0],
      hint:
        `Restore into a server with at least ${Math.max(...numbers) + 1} databases (\`databases\` in ` +
        `redis.conf, 16 by default), or allow this user to SELECT them.`,
      details: { dbs: numbers, target: conn.label },
    },
  );
}

async function write(
  repo: Repository,
  conn: RedisConnection,
  source: SourceMeta,
  plan: RedisRestorePlan,
  options: RedisRestoreOptions,
  filter: ((r: { db: number; key: Buffer }) => boolean) | undefined,
): Promise<{ restored: number; skippedExpired: number }> {
  const batchKeys = options.batchKeys ?? 512;
  const batchBytes = options.batchBytes ?? 16 << 20;
  const large = options.largePayloadBytes ?? 4 << 20;
  const cluster = conn.mode === 'cluster';
  let restored = 0;
  let skippedExpired = 0;
  let scripting = !cluster && options.script !== false;
  const { signal } = options;
  // Keys restored (or skipped as expired) per database: a stop names the databases it leaves incomplete.
  const done = new Map<number, number>();
  const count = (db: number, n: number) => done.set(db, (done.get(db) ?? 0) + n);
  let flushed = false;
  const incompleteDbs = () => plan.dbs.filter((d) => (done.get(d.db) ?? 0) < d.keys);
  const leftIncomplete = () => {
    const incomplete = incompleteDbs();
    return incomplete.length
      ? `; databases left incomplete: ` +
          `${incomplete.map((d) => `db ${d.db} (${done.get(d.db) ?? 0} of ${d.keys} keys)`).join(', ')}` +
          `${flushed ? ', emptied first' : ''}`
      : '';
  };
  const stopped = (cause: unknown, key?: string) => {
    const interrupted = signal?.aborted === true && key === undefined;
    const incomplete = incompleteDbs();
    const left = leftIncomplete();
    return new RedisRestoreError(
      interrupted ? RedisRestoreErrorCode.INTERRUPTED : RedisRestoreErrorCode.FAILED,
      interrupted
        ? `The restore into ${conn.label} was interrupted after ${restored} of ${plan.records} keys${left}.`
        : `The restore into ${conn.label} stopped${key ? ` at key ${key}` : ''} after ${restored} of ${plan.records} ` +
            `keys: ${(cause as Error).message}${left}`,
      {
        cause,
        hint: `${
          plan.mode === 'replace'
            ? 'The target now holds only part of the snapshot'
            : 'The target now holds part of the snapshot beside its own keys'
        }: ${interrupted ? '' : 'fix the cause and '}run the same restore again (it replaces what it already wrote).`,
        details: {
          ...(key ? { key } : {}),
          restored,
          records: plan.records,
          incompleteDbs: incomplete.map((d) => d.db),
        },
      },
    );
  };
  // A failure after the first write (damage, a storage or connection error): say what the target holds now.
  const partlyRestored = (cause: DrkitError) =>
    retold(
      cause,
      `${cause.message} The target ${conn.label} now holds only part of snapshot ${plan.snapshot}: ` +
        `${restored} of ${plan.records} keys${leftIncomplete()}.`,
      `${conn.label} is partly restored${plan.mode === 'merge' ? ', beside its own keys' : ''}. ` +
        nextStep(cause, plan.source, plan.snapshot),
      { restored, records: plan.records, incompleteDbs: incompleteDbs().map((d) => d.db) },
    );
  const fail = (cause: unknown, key: string) => stopped(redisFailure(cause, conn.label, `RESTORE key ${key}`), key);

  try {
    // Replace: empty each database the snapshot holds, nothing else.
    for (const db of plan.flush)
      for (const node of cluster ? conn.nodes() : [await conn.forDb(db)]) await node.flushdb();
  } catch (cause) {
    throw fail(cause, '(FLUSHDB before the first key)');
  }
  flushed = plan.flush.length > 0;

  const clock = await serverClock(cluster ? conn.nodes()[0]! : (conn.client as Redis));
  let db = cluster ? 0 : -1;
  let client: Redis | Cluster = conn.client;
  let pending: Array<{ key: Buffer; ttl: number; payload: Buffer }> = [];
  let pendingBytes = 0;

  const restoredBatch = async (batchDb: number, n: number, lastKey: Buffer) => {
    restored += n;
    count(batchDb, n);
    options.onProgress?.({ restored, skippedExpired, records: plan.records, key: messageKey(lastKey) });
    await failpoint('restore.redis.after-batch');
  };
  const flush = async () => {
    if (pending.length === 0) return;
    signal?.throwIfAborted();
    const batch = pending;
    const batchDb = db;
    pending = [];
    pendingBytes = 0;
    if (scripting) {
      // One round trip per batch; stops at the first key the server refuses and names it.
      const args: Array<Buffer | string> = batch.map((r) => r.key);
      for (const r of batch) args.push(String(r.ttl), r.payload);
      try {
        const [failedAt, message] = (await (client as ScriptedClient).drkitRestoreBatch(batch.length, ...args)) as [
          number,
          string,
        ];
        if (failedAt > 0) {
          restored += failedAt - 1;
          count(batchDb, failedAt - 1);
          throw fail(new Error(message), messageKey(batch[failedAt - 1]!.key));
        }
      } catch (e) {
        if (
          e instanceof RedisRestoreError ||
          CONNECTION_LOST.test((e as Error).message) ||
          !NO_SCRIPTING.test((e as Error).message)
        )
          throw e instanceof RedisRestoreError ? e : fail(e, messageKey(batch[0]!.key));
        scripting = false;
      }
      if (scripting) return restoredBatch(batchDb, batch.length, batch.at(-1)!.key);
    }
    let results: Array<[Error | null, unknown]>;
    if (cluster) {
      // A cluster pipeline must stay on one node; concurrent single commands are routed per key.
      results = await Promise.all(
        batch.map((r) =>
          (client as Cluster).restore(r.key, r.ttl, r.payload, 'REPLACE', 'ABSTTL').then(
            (v) => [null, v] as [null, unknown],
            (e: Error) => [e, null] as [Error, null],
          ),
        ),
      );
    } else {
      const p = (client as Redis).pipeline();
      for (const r of batch) p.restore(r.key, r.ttl, r.payload, 'REPLACE', 'ABSTTL');
      results = ((await p.exec()) ?? []) as Array<[Error | null, unknown]>;
    }
    for (const [i, [err]] of results.entries()) if (err) throw fail(err, messageKey(batch[i]!.key));
    if (results.length !== batch.length) throw fail(new Error('Connection is closed.'), messageKey(batch[0]!.key));
    await restoredBatch(batchDb, batch.length, batch.at(-1)!.key);
  };

  try {
    await failpoint('restore.redis.after-flush');
    for await (const r of repo.readRedisRecords(source)) {
      if (filter && !filter(r)) continue;
      if (r.expireAt !== -1 && r.expireAt <= clock()) {
        skippedExpired++;
        count(r.db, 1);
        continue;
      }
      if (!cluster && r.db !== db) {
        await flush();
        db = r.db;
        client = await conn.forDb(db);
        if (scripting && !('drkitRestoreBatch' in client))
          (client as Redis).defineCommand('drkitRestoreBatch', { lua: RESTORE_BATCH_LUA });
      }
      const ttl = r.expireAt === -1 ? 0 : r.expireAt;
      if (r.payload.length >= large) {
        await flush();
        signal?.throwIfAborted();
        try {
          await (client as Redis).sendCommand(streamingRestore(r.key, ttl, r.payload));
        } catch (cause) {
          throw fail(cause, messageKey(r.key));
        }
        await restoredBatch(db, 1, r.key);
        continue;
      }
      pending.push({ key: r.key, ttl, payload: r.payload });
      pendingBytes += r.payload.length;
      if (pending.length >= batchKeys || pendingBytes >= batchBytes) await flush();
    }
    await flush();
  } catch (cause) {
    if (cause instanceof RedisRestoreError) throw cause;
    if (signal?.aborted || !isDrkitError(cause)) throw stopped(cause);
    // Keeps the error's own code (REPO_CORRUPT_ARCHIVE, STORAGE_IO, …), told what the target holds now.
    throw flushed || restored > 0 ? partlyRestored(cause) : nothingWritten(cause, plan);
  }
  return { restored, skippedExpired };
}

interface Selection {
  records: number;
  dbs: Array<{ db: number; keys: number }>;
  /** Set when include or dbs narrow the restore. */
  filter?: (r: { db: number; key: Buffer }) => boolean;
}

/**
 * The databases and keys a restore writes: all of the snapshot's, or those `dbs` and `include`
 * select, counted by reading the archive once before anything is written, so a selection that
 * matches nothing is refused up front and replace never empties a database it only partly restores.
 */
async function selectedKeys(
  repo: Repository,
  snapshotId: string,
  source: SourceMeta,
  meta: NonNullable<SourceMeta['redis']>,
  options: RedisRestoreOptions,
): Promise<Selection> {
  const include = options.include?.length ? options.include : undefined;
  const only = options.dbs?.length ? new Set(options.dbs) : undefined;
  if (!include && !only) return { records: meta.records, dbs: meta.dbs };
  const held = meta.dbs.map((d) => d.db);
  if (include && options.mode === 'replace')
    throw new RedisRestoreError(
      RedisRestoreErrorCode.BAD_SELECTION,
      'Replace mode empties whole databases, so it cannot restore only the keys --include selects: the ' +
        'others would be lost. Nothing was written.',
      {
        hint:
          'Use --mode merge with --include (keys of the snapshot replace keys of the same name; the rest ' +
          'stay), or restore whole databases with --db N.',
      },
    );
  const missing = [...(only ?? [])].filter((db) => !held.includes(db));
  if (missing.length)
    throw new RedisRestoreError(
      RedisRestoreErrorCode.NOTHING_SELECTED,
      `Snapshot ${snapshotId} holds no keys in database(s) ${missing.join(', ')} of source ` +
        `"${source.name}". Nothing was written.`,
      {
        hint:
          `Its databases: ${held.join(', ') || 'none'} (\`drkit ls ${snapshotId} --source ${source.name}\` ` +
          `lists its keys).`,
        details: { dbs: missing, held },
      },
    );
  const patterns = include?.map(redisGlob);
  const filter = (r: { db: number; key: Buffer }) =>
    (!only || only.has(r.db)) && (!patterns || patterns.some((p) => p.test(r.key.toString('latin1'))));
  const counts = new Map<number, number>();
  for await (const r of repo.readRedisRecords(source)) if (filter(r)) counts.set(r.db, (counts.get(r.db) ?? 0) + 1);
  const dbs = meta.dbs.filter((d) => counts.has(d.db)).map((d) => ({ db: d.db, keys: counts.get(d.db)! }));
  if (dbs.length === 0)
    throw new RedisRestoreError(
      RedisRestoreErrorCode.NOTHING_SELECTED,
      `No key of source "${source.name}" in snapshot ${snapshotId} matches ` +
        `${include ? include.map((g) => JSON.stringify(g)).join(', ') : 'the selection'}` +
        `${only ? ` in database(s) ${[...only].join(', ')}` : ''}. Nothing was written.`,
      {
        hint:
          `Patterns are Redis globs over whole keys (\`user:*\`, \`session:1?\`); \`drkit ls ${snapshotId} ` +
          `--source ${source.name}\` lists the keys.`,
        details: { include, dbs: options.dbs },
      },
    );
  return { records: dbs.reduce((n, d) => n + d.keys, 0), dbs, filter };
}

/**
 * A Redis glob (`*`, `?`, `[a-z]`, `[^x]`, `\\x`) as a regex over a key's bytes (latin1: one character per byte), as
 * SCAN MATCH reads it.
 */
function redisGlob(pattern: string): RegExp {
  const bytes = Buffer.from(pattern, 'utf8').toString('latin1');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '\\' && i + 1 < bytes.length) out += escapeRegex(bytes[++i]!);
    else if (c === '[') {
      const end = bytes.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        const body = bytes.slice(i + 1, end);
        out += `[${body.startsWith('^') ? `^${escapeClass(body.slice(1))}` : escapeClass(body)}]`;
        i = end;
      }
    } else out += escapeRegex(c);
  }
  return new RegExp(`^${out}$`, 's');
}

const escapeRegex = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const escapeClass = (body: string) => body.replace(/[\]\\^]/g, '\\$&');

/** RESTORE … REPLACE ABSTTL of each KEYS[i] with ARGV ttl/payload pairs; returns {0, ''} or {i, error}. */
const RESTORE_BATCH_LUA = `
for i, k in ipairs(KEYS) do
  local r = redis.pcall('RESTORE', k, ARGV[2 * i - 1], ARGV[2 * i], 'REPLACE', 'ABSTTL')
  if type(r) == 'table' and r.err then return {i, r.err} end
end
return {0, ''}`;

const CONNECTION_LOST = /Connection is closed|ECONNRESET|EPIPE|ECONNREFUSED|ETIMEDOUT|Stream isn't writeable/i;
// Scripting can be off (ACL, renamed EVAL, old servers): then pipelines do the same work.
const NO_SCRIPTING =
  /unknown command|NOSCRIPT|NOPERM|no permission|not allowed|disabled|Lua|script|CROSSSLOT|non.local key/i;

interface ScriptedClient extends Redis {
  drkitRestoreBatch(numKeys: number, ...args: Array<Buffer | string>): Promise<unknown>;
}

/** The target's clock in ms, read once with TIME and advanced by our monotonic clock. */
async function serverClock(node: Redis): Promise<() => number> {
  const [sec, usec] = await node.time();
  const base = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  const t0 = performance.now();
  return () => base + (performance.now() - t0);
}
