import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import {
  chooseCompression,
  describeLeftovers,
  type FailedSource,
  type Finding,
  globMatcher,
  type LockInfo,
  newSnapshotId,
  removeLeftovers,
  type Repository,
  type SnapshotMeta,
  type SourceMeta,
} from '@drkit/repository';
import { JsonlChecker } from '@drkit/integrity-verifier';
import { errnoCode, failpoint } from '@drkit/errors';
import { ChangeCache } from './change-cache.js';
import { describeRedis } from '@drkit/redis-source';
import { BackupError, BackupErrorCode, isSourceFailure } from './errors.js';
import { fileSourceItems, type OpenFile, openForBackup } from './file-source.js';
import { type ChainSource, chooseParent, type PreviousTree, previousTree } from './incremental.js';
import { checkAccounted } from './walk.js';
import { backupRedisSource } from './redis/backup-redis.js';
import type { RedisReadTuning, RedisSource } from './redis/source.js';

export interface FileSource {
  name: string;
  type: 'files';
  path: string;
  include?: string[];
  exclude?: string[];
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface BackupProgress {
  source: string;
  /** Set for Redis sources: keys read so far (`files` stays 0). */
  keys?: number;
  files: number;
  bytes: number;
  path: string;
  /** The bytes this source held in the parent snapshot: what a progress display can take as the total. */
  expectedBytes?: number;
}

export interface BackupOptions {
  sources: Array<FileSource | RedisSource>;
  tags?: string[];
  /**
   * An emergency snapshot (tagged `emergency`) of a possibly damaged system: it never fails
   * because data looks wrong. An unreadable Redis key or a connection lost mid-way is recorded in
   * `errors` (status partial) and the keys read before it are kept. (Without it, that source fails
   * as a whole: see `failedSources`.)
   */
  emergency?: boolean;
  /** Batch sizes for Redis sources (tests and tuning). */
  redis?: RedisReadTuning;
  /** Globs of files validated line by line as JSON (default all `*.jsonl`). */
  jsonlGlobs?: string[];
  toolVersion: string;
  host?: string;
  clock?: Clock;
  /**
   * The snapshot's time (and id) instead of the clock's: a backup imported or simulated after the
   * fact (`drkit backup --time`). The choice of a full by `fullEveryMs` goes by it too; the lock
   * keeps the clock's time, which other processes judge it stale by.
   */
  time?: Date;
  onProgress?: (p: BackupProgress) => void;
  /** Fault-injection port for tests. */
  openFile?: OpenFile;
  /** Findings kept in metadata per source; the total is always counted. */
  maxFindings?: number;
  /** Make a full snapshot even when an incremental is possible. */
  full?: boolean;
  /** A full is due when the chain's full is older than this (ms). */
  fullEveryMs?: number;
  /** Incrementals hash every file instead of trusting size, mtime, ctime and inode. */
  rehash?: boolean;
  /** How long to wait for an exclusive lock (forget, prune) to go away before failing (ms; default 0). */
  waitMs?: number;
  /** Told when a stale lock is removed while taking the lock. */
  onStaleLock?: (lock: LockInfo, why: string) => void;
  /** Told when a lock file that is not a lock is removed while taking the lock. */
  onDamagedLock?: (key: string, why: string) => void;
  /** Told once when another user's lock makes the backup wait (up to waitMs). */
  onLockWait?: (holder: LockInfo, waitMs: number) => void;
  /** Stops the backup at the next safe point; it is rolled back (BACKUP_INTERRUPTED). */
  signal?: AbortSignal;
  /**
   * Where this host keeps its own file lists of encrypted repositories' snapshots (see
   * ChangeCache; e.g. defaultCacheDir()). Without it, a backup to an encrypted repository with
   * no identity is always a full one.
   */
  cacheDir?: string;
}

export interface BackupResult {
  snapshot: SnapshotMeta;
  /** `partial` when some file could not be read (each one is in `errors`) or some source failed (`failedSources`). */
  status: 'complete' | 'partial';
  /** Each names its `source`. */
  warnings: Finding[];
  errors: Finding[];
  /** Sources that could not be read at all (missing path, Redis unreachable or lost): the snapshot holds the others. */
  failedSources: FailedSource[];
  /** Things the user should see once, e.g. a compression fallback. */
  notes: string[];
  /** Why this is a full or an incremental. */
  chain: string;
  /** What was actually read from disk: an unchanged incremental reads nothing. */
  read: { files: number; bytes: number };
  /** As restic counts them: files not in the parent, read again though in it, and reused from it unread. */
  files: { new: number; changed: number; unmodified: number };
  /** Bytes this snapshot added to the repository: its archives and indexes, as stored. */
  added: number;
}

/**
 * Backs up file and Redis sources into one snapshot under a shared repository lock. Archives
 * are written first and the metadata last; on failure everything written is removed. A source
 * that cannot be read at all (a missing or unreadable path, a Redis that cannot be reached or
 * goes away) is recorded in `failedSources` and the others are kept (status partial); when every
 * source fails, nothing is committed and the backup fails.
 */
export async function runBackup(repo: Repository, options: BackupOptions): Promise<BackupResult> {
  const unreadable = await checkSources(options.sources);
  if (unreadable.size === options.sources.length) throw nothingBackedUp([...unreadable.values()]);
  const clock = options.clock ?? systemClock;
  const maxFindings = options.maxFindings ?? 100;
  const isJsonl = globMatcher(options.jsonlGlobs ?? ['**/*.jsonl']);
  const notes: string[] = [];
  const decision = chooseCompression(repo.config.compression);
  if (decision.note) notes.push(decision.note);

  repo.checkSigning(); // before the lock: nothing to release when the key is missing
  const time = options.time ?? clock.now();
  const id = newSnapshotId(time);
  const { signal } = options;
  // The lock names the snapshot, so that once this process is
  // gone, whoever removes its lock removes the snapshot's data too.
  const lock = await repo.lock({
    exclusive: false,
    purpose: 'backup',
    now: () => clock.now(),
    waitMs: options.waitMs,
    onStale: options.onStaleLock,
    onDamaged: options.onDamagedLock,
    onWait: options.onLockWait,
    snapshot: id,
    signal,
  });
  const tags =
    options.emergency && !options.tags?.includes('emergency') ? [...(options.tags ?? []), 'emergency'] : options.tags;
  const host = options.host ?? hostname();
  // Encrypted repositories: this host keeps its own file lists, so incrementals need no identity.
  const cache = options.cacheDir && repo.keys.encrypted ? new ChangeCache(options.cacheDir, repo.config.id) : undefined;
  const chainOptions = {
    host,
    full: options.full,
    fullEveryMs: options.fullEveryMs,
    now: time,
    cached: cache && ((id: string, names: readonly string[]) => cache.has(id, names)),
  };
  const chain = await (async () => {
    const leftovers = describeLeftovers(await removeLeftovers(repo.store));
    if (leftovers) notes.push(leftovers);
    return chooseParent(repo, options.sources.map(chainSource), chainOptions);
  })().catch(async (err) => {
    await lock.release().catch(() => {});
    throw err;
  });
  const writer = await repo.beginSnapshot({
    id,
    time,
    tags,
    host,
    toolVersion: options.toolVersion,
    parent: chain.parent,
    lock,
    signal,
  });
  const recording =
    cache && options.sources.some((s) => s.type === 'files' && !unreadable.has(s.name))
      ? cache.record(writer.id)
      : undefined;
  const fromCache = cache !== undefined && !repo.keys.canDecrypt;
  const previousOf = (parent: SnapshotMeta, name: string) =>
    fromCache
      ? previousTree(repo, parent, name, (s: SourceMeta) => cache.read(parent.id, s.name)).catch(
          (error): PreviousTree => {
            // The cache only saves work: a damaged or vanished list means reading every file.
            notes.push(
              `this host's cached file list of ${parent.id} could not be read ` +
                `(${(error as Error)?.message ?? error}); every file of "${name}" was read`,
            );
            return { files: new Map(), folders: new Map() };
          },
        )
      : previousTree(repo, parent, name);
  const read = { files: 0, bytes: 0 };
  const files = { new: 0, changed: 0, unmodified: 0 };
  const warnings: Finding[] = [];
  const errors: Finding[] = [];
  const findings: Record<string, { list: Finding[]; total: number }> = {};
  const failures = new Map(unreadable);
  // A source that cannot be read at all is recorded as failed; anything else (the repository, a bug) fails the backup.
  const attempt = (source: FileSource | RedisSource, write: () => Promise<unknown>) =>
    write().catch((cause) => {
      if (!isSourceFailure(cause)) throw cause;
      failures.set(source.name, cause);
    });
  // Between sources: a safe point to stop at.
  const sourceDone = async () => {
    await failpoint('backup.after-source');
    signal?.throwIfAborted();
  };
  try {
    for (const source of options.sources) {
      if (failures.has(source.name)) continue;
      if (source.type === 'redis') {
        const progress = { source: source.name, keys: 0, files: 0, bytes: 0, path: '' };
        await attempt(source, () =>
          backupRedisSource(
            writer,
            source,
            {
              warn: (f) => warnings.push({ ...f, source: source.name }),
              error: (f) => errors.push({ ...f, source: source.name }),
              progress: (keys, bytes, key) => options.onProgress?.(Object.assign(progress, { keys, bytes, path: key })),
            },
            { ...options.redis, emergency: options.emergency },
          ),
        );
        await sourceDone();
        continue;
      }
      const kept: Finding[] = [];
      let total = 0;
      const keep = (f: Finding) => {
        total++;
        if (kept.length < maxFindings) kept.push(f);
      };
      const expectedBytes = chain.parent?.sources.find((x) => x.name === source.name)?.stats.bytes;
      const progress = {
        source: source.name,
        files: 0,
        bytes: 0,
        path: '',
        ...(expectedBytes !== undefined ? { expectedBytes } : {}),
      };
      const checkers = new Map<string, JsonlChecker>();
      const root = path.resolve(source.path);
      // The root folder has no index entry; its mode and mtime go in the metadata so restores can set them.
      const rootStats = await stat(root).catch(() => undefined);
      const tally = { seen: 0, left: 0, skipped: 0 };
      const previous = chain.parent ? await previousOf(chain.parent, source.name) : undefined;
      const items = fileSourceItems(
        root,
        source,
        {
          warn: (f) => {
            warnings.push({ ...f, source: source.name });
            keep(f);
          },
          error: (f) => errors.push({ ...f, source: source.name }),
          tap: (p) => {
            if (!isJsonl(p)) return undefined;
            const c = new JsonlChecker(p);
            checkers.set(p, c);
            return (chunk) => {
              c.push(chunk);
              c.keepTail(); // the chunk's memory is reused for the next read
            };
          },
          fileDone: (p, bytes, wasRead) => {
            if (wasRead) {
              read.files++;
              read.bytes += bytes;
              if (previous?.files.has(p)) files.changed++;
              else files.new++;
            } else files.unmodified++;
            const c = checkers.get(p);
            if (c) {
              checkers.delete(p);
              for (const f of c.end()) {
                warnings.push({ ...f, source: source.name });
                keep(f);
              }
              total += c.total - c.findings.length;
            }
            progress.files++;
            progress.bytes += bytes;
            progress.path = p;
            options.onProgress?.(progress);
          },
        },
        options.openFile ?? openForBackup,
        previous && { ...previous, rehash: options.rehash },
        tally,
      );
      const rootMeta = rootStats?.isDirectory()
        ? { root: { mode: rootStats.mode & 0o7777, mtime: rootStats.mtimeMs } }
        : {};
      await attempt(source, async () => {
        const meta = await writer.writeSource(
          { name: source.name, type: 'files', origin: root, ...rootMeta },
          items,
          recording?.source(source.name),
        );
        checkAccounted(source.name, tally, meta.index?.entries ?? 0);
      });
      findings[source.name] = { list: kept, total };
      await sourceDone();
    }
    if (failures.size === options.sources.length)
      throw nothingBackedUp(options.sources.map((s) => failures.get(s.name)!));
    const failedSources: FailedSource[] = options.sources.flatMap((s) => {
      const f = failures.get(s.name);
      return f ? [{ ...chainSource(s), code: f.code, reason: f.message }] : [];
    });
    const snapshot = await writer.commit({ errors, findings, failedSources });
    const cacheNote = await recording?.commit();
    if (cacheNote) notes.push(cacheNote);
    const added = snapshot.sources.reduce((n, x) => n + x.archive.size + (x.index?.size ?? 0), 0);
    return {
      snapshot,
      status: snapshot.status,
      warnings,
      errors,
      failedSources,
      notes,
      chain: chain.reason,
      read,
      files,
      added,
    };
  } catch (cause) {
    await recording?.abort();
    await writer.abort();
    if (writer.committed)
      throw new BackupError(
        BackupErrorCode.FAILED,
        `Snapshot ${writer.id} was saved, but the backup failed right after: ${(cause as Error)?.message ?? cause}.`,
        {
          cause,
          hint:
            `The snapshot is complete and listed (\`drkit verify ${writer.id}\` checks it). Fix the cause ` +
            `before the next backup.`,
        },
      );
    if (signal?.aborted)
      throw new BackupError(
        BackupErrorCode.INTERRUPTED,
        `The backup was interrupted and rolled back: snapshot ${writer.id} was not committed, and what it ` +
          `had written, its temporary files and its lock were removed.`,
        {
          cause,
          hint: 'Earlier snapshots are untouched. Run the backup again.',
        },
      );
    if (cause instanceof Error && 'code' in cause && 'hint' in cause) throw cause;
    throw new BackupError(
      BackupErrorCode.FAILED,
      `The backup failed and was rolled back: ${(cause as Error)?.message ?? cause}.`,
      {
        cause,
        hint: 'Earlier snapshots are untouched. Fix the cause and run the backup again.',
      },
    );
  } finally {
    await lock.release().catch(() => {});
  }
}

/**
 * Throws on a bad source list. Returns the file sources whose path is missing or cannot be read
 * (by this user: `access` sees permissions as the kernel will), each with its failure.
 */
async function checkSources(sources: Array<FileSource | RedisSource>): Promise<Map<string, BackupError>> {
  if (sources.length === 0)
    throw new BackupError(
      BackupErrorCode.NO_SOURCES,
      'Nothing to back up: no paths were given and the config has no sources.',
      {
        hint: 'Pass paths (`drkit backup /srv/data`) or add sources to drkit.config.yaml.',
      },
    );
  const seen = new Set<string>();
  const unreadable = new Map<string, BackupError>();
  for (const s of sources) {
    if (seen.has(s.name))
      throw new BackupError(BackupErrorCode.DUPLICATE_SOURCE, `Two sources are named "${s.name}".`, {
        hint: 'Give every source its own name.',
      });
    seen.add(s.name);
    if (s.type === 'redis') continue;
    try {
      const st = await stat(s.path);
      await access(s.path, st.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
    } catch (cause) {
      const missing = errnoCode(cause) === 'ENOENT';
      const message =
        `Source "${s.name}": ${s.path} ` +
        `${missing ? 'does not exist' : `cannot be read (${(cause as Error).message})`}.`;
      const hint =
        'Check the path in the config or on the command line, and that drkit runs as a user who can read it.';
      unreadable.set(
        s.name,
        new BackupError(missing ? BackupErrorCode.SOURCE_MISSING : BackupErrorCode.SOURCE_UNREADABLE, message, {
          cause,
          hint,
          details: { source: s.name, path: s.path },
        }),
      );
    }
  }
  return unreadable;
}

/**
 * What the snapshot records about a source, and what its parent
 * must have read: name, type and origin (Redis without secrets).
 */
function chainSource(s: FileSource | RedisSource): ChainSource {
  return {
    name: s.name,
    type: s.type,
    origin: s.type === 'files' ? path.resolve(s.path) : describeRedis(s.connection),
  };
}

/** Every source failed: the one failure as it is, or all of them in one error. Nothing is committed. */
function nothingBackedUp(failures: BackupError[]): BackupError {
  if (failures.length === 1) return failures[0]!;
  return new BackupError(
    BackupErrorCode.ALL_SOURCES_FAILED,
    `No source could be backed up, so no snapshot was made: ${failures.map((f) => f.message).join(' ')}`,
    {
      hint:
        'Earlier snapshots are untouched. Fix the causes above (paths, permissions, the Redis server) and run ' +
        'the backup again.',
      details: { failedSources: failures.map((f) => ({ code: f.code, reason: f.message, ...f.details })) },
    },
  );
}

/** Names ad-hoc paths after their last folder, made unique, as `drkit backup PATH...` does. */
export function sourcesFromPaths(paths: string[]): FileSource[] {
  const used = new Set<string>();
  return paths.map((p) => {
    const base = path.basename(path.resolve(p)).replace(/[^A-Za-z0-9._-]/g, '_') || 'root';
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return { name, type: 'files' as const, path: p };
  });
}
