import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { chooseCompression, globMatcher, type Finding, type LockInfo, type Repository, type SnapshotMeta, type SourceMeta } from '@drkit/repository';
import { JsonlChecker } from '@drkit/integrity-verifier';
import { errnoCode } from '@drkit/errors';
import { ChangeCache } from './change-cache.js';
import { BackupError, BackupErrorCode } from './errors.js';
import { fileSourceItems, type OpenFile, openForBackup } from './file-source.js';
import { chooseParent, type PreviousTree, previousTree } from './incremental.js';
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
}

export interface BackupOptions {
  sources: Array<FileSource | RedisSource>;
  tags?: string[];
  /**
   * An emergency snapshot (tagged `emergency`) of a possibly damaged system: it never fails
   * because data looks wrong. A missing path, an unreadable Redis key or a lost connection is
   * recorded in `errors` (status partial) and everything that could be read is kept.
   */
  emergency?: boolean;
  /** Batch sizes for Redis sources (tests and tuning). */
  redis?: RedisReadTuning;
  /** Globs of files validated line by line as JSON (default all `*.jsonl`). */
  jsonlGlobs?: string[];
  toolVersion: string;
  host?: string;
  clock?: Clock;
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
  /**
   * Where this host keeps its own file lists of encrypted repositories' snapshots (see
   * ChangeCache; e.g. defaultCacheDir()). Without it, a backup to an encrypted repository with
   * no identity is always a full one.
   */
  cacheDir?: string;
}

export interface BackupResult {
  snapshot: SnapshotMeta;
  /** `partial` when some file could not be read; each one is in `errors`. */
  status: 'complete' | 'partial';
  warnings: Finding[];
  errors: Finding[];
  /** Things the user should see once, e.g. a compression fallback. */
  notes: string[];
  /** Why this is a full or an incremental. */
  chain: string;
  /** What was actually read from disk: an unchanged incremental reads nothing. */
  read: { files: number; bytes: number };
}

/**
 * Backs up file sources into one snapshot under a shared repository lock. Archives are
 * written first and the metadata last; on failure everything written is removed.
 */
export async function runBackup(repo: Repository, options: BackupOptions): Promise<BackupResult> {
  const missing = await checkSources(options.sources, options.emergency === true);
  const clock = options.clock ?? systemClock;
  const maxFindings = options.maxFindings ?? 100;
  const isJsonl = globMatcher(options.jsonlGlobs ?? ['**/*.jsonl']);
  const notes: string[] = [];
  const decision = chooseCompression(repo.config.compression);
  if (decision.note) notes.push(decision.note);

  const lock = await repo.lock({ exclusive: false, purpose: 'backup', now: () => clock.now(), waitMs: options.waitMs, onStale: options.onStaleLock });
  const tags = options.emergency && !options.tags?.includes('emergency') ? [...(options.tags ?? []), 'emergency'] : options.tags;
  const host = options.host ?? hostname();
  const written = options.sources.filter((s) => !missing.names.has(s.name));
  // Encrypted repositories: this host keeps its own file lists, so incrementals need no identity.
  const cache = options.cacheDir && repo.keys.encrypted ? new ChangeCache(options.cacheDir, repo.config.id) : undefined;
  const chainOptions = { host, full: options.full, fullEveryMs: options.fullEveryMs, now: clock.now(), cached: cache && ((id: string, names: readonly string[]) => cache.has(id, names)) };
  const chain = await chooseParent(repo, written, chainOptions).catch(async (err) => {
    await lock.release().catch(() => {});
    throw err;
  });
  const writer = await repo.beginSnapshot({ time: clock.now(), tags, host, toolVersion: options.toolVersion, parent: chain.parent, lock });
  const recording = cache && written.some((s) => s.type === 'files') ? cache.record(writer.id) : undefined;
  const fromCache = cache !== undefined && !repo.keys.canDecrypt;
  const previousOf = (parent: SnapshotMeta, name: string) =>
    fromCache
      ? previousTree(repo, parent, name, (s: SourceMeta) => cache.read(parent.id, s.name)).catch((error): PreviousTree => {
          // The cache only saves work: a damaged or vanished list means reading every file.
          notes.push(`this host's cached file list of ${parent.id} could not be read (${(error as Error)?.message ?? error}); every file of "${name}" was read`);
          return { files: new Map(), folders: new Map() };
        })
      : previousTree(repo, parent, name);
  const read = { files: 0, bytes: 0 };
  const warnings: Finding[] = [];
  const errors: Finding[] = [...missing.errors];
  const findings: Record<string, { list: Finding[]; total: number }> = {};
  try {
    for (const source of options.sources) {
      if (missing.names.has(source.name)) continue;
      if (source.type === 'redis') {
        const progress = { source: source.name, keys: 0, files: 0, bytes: 0, path: '' };
        await backupRedisSource(
          writer,
          source,
          {
            warn: (f) => warnings.push(f),
            error: (f) => errors.push(f),
            progress: (keys, bytes, key) => options.onProgress?.(Object.assign(progress, { keys, bytes, path: key })),
          },
          { ...options.redis, emergency: options.emergency },
        );
        continue;
      }
      const kept: Finding[] = [];
      let total = 0;
      const keep = (f: Finding) => {
        total++;
        if (kept.length < maxFindings) kept.push(f);
      };
      const progress = { source: source.name, files: 0, bytes: 0, path: '' };
      const checkers = new Map<string, JsonlChecker>();
      const root = path.resolve(source.path);
      // The root folder has no index entry; its mode and mtime go in the metadata so restores can set them.
      const rootStats = await stat(root).catch(() => undefined);
      const tally = { seen: 0, left: 0, skipped: 0 };
      const items = fileSourceItems(
        root,
        source,
        {
          warn: (f) => {
            warnings.push(f);
            keep(f);
          },
          error: (f) => errors.push(f),
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
            }
            const c = checkers.get(p);
            if (c) {
              checkers.delete(p);
              for (const f of c.end()) {
                warnings.push(f);
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
        chain.parent ? { ...(await previousOf(chain.parent, source.name)), rehash: options.rehash } : undefined,
        tally,
      );
      const rootMeta = rootStats?.isDirectory() ? { root: { mode: rootStats.mode & 0o7777, mtime: rootStats.mtimeMs } } : {};
      const meta = await writer.writeSource({ name: source.name, type: 'files', origin: root, ...rootMeta }, items, recording?.source(source.name));
      checkAccounted(source.name, tally, meta.index?.entries ?? 0);
      findings[source.name] = { list: kept, total };
    }
    const snapshot = await writer.commit({ errors, findings });
    const cacheNote = await recording?.commit();
    if (cacheNote) notes.push(cacheNote);
    return { snapshot, status: snapshot.status, warnings, errors, notes, chain: chain.reason, read };
  } catch (cause) {
    await recording?.abort();
    await writer.abort();
    if (cause instanceof Error && 'code' in cause && 'hint' in cause) throw cause;
    throw new BackupError(BackupErrorCode.FAILED, `The backup failed and was rolled back: ${(cause as Error)?.message ?? cause}.`, {
      cause,
      hint: 'Earlier snapshots are untouched. Fix the cause and run the backup again.',
    });
  } finally {
    await lock.release().catch(() => {});
  }
}

/** Throws on a bad source list; in an emergency a missing path is an error entry instead. */
async function checkSources(sources: Array<FileSource | RedisSource>, emergency: boolean): Promise<{ names: Set<string>; errors: Finding[] }> {
  const missing = { names: new Set<string>(), errors: [] as Finding[] };
  if (sources.length === 0)
    throw new BackupError(BackupErrorCode.NO_SOURCES, 'Nothing to back up: no paths were given and the config has no sources.', {
      hint: 'Pass paths (`drkit backup /srv/data`) or add sources to drkit.config.yaml.',
    });
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.name))
      throw new BackupError(BackupErrorCode.DUPLICATE_SOURCE, `Two sources are named "${s.name}".`, { hint: 'Give every source its own name.' });
    seen.add(s.name);
    if (s.type === 'redis') continue;
    await stat(s.path).catch((cause) => {
      const message = `Source "${s.name}": ${s.path} ${errnoCode(cause) === 'ENOENT' ? 'does not exist' : `cannot be read (${(cause as Error).message})`}.`;
      if (emergency) {
        missing.names.add(s.name);
        missing.errors.push({ kind: 'unreadable', path: s.path, message });
        return;
      }
      throw new BackupError(BackupErrorCode.SOURCE_MISSING, message, { cause, hint: 'Check the path in the config or on the command line. Nothing was written.' });
    });
  }
  return missing;
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
