import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { failpoint, failpointArmed } from '@drkit/errors';
import { type BlobStore, StorageErrorCode } from '@drkit/storage';
import { readSmallBlob } from './blob-io.js';
import { RepoError, RepoErrorCode } from './errors.js';
import { KEYS } from './format.js';
import { CHECKSUM_FIELD, checkMetadataChecksum, encodeMetadata } from './metadata-checksum.js';

export interface LockInfo {
  id: string;
  exclusive: boolean;
  host: string;
  pid: number;
  /** What holds it, e.g. "backup" or "forget --prune". */
  purpose: string;
  time: string;
  refreshed: string;
  /**
   * Set (by readLocks) for a lock file that cannot be read (bad JSON, or a checksum that fails):
   * who holds it is unknown, so it counts as exclusive and never as stale; `unlock --all` removes it.
   */
  damaged?: string;
  /** The snapshot a backup is writing: once its holder is gone, that snapshot's unlisted data is garbage. */
  snapshot?: string;
}

const LOCK_FIELDS = new Set([
  'id',
  'exclusive',
  'host',
  'pid',
  'purpose',
  'time',
  'refreshed',
  'snapshot',
  CHECKSUM_FIELD,
]);
const lockBytes = (info: LockInfo) => encodeMetadata(info, { pretty: false });

export interface LockOptions {
  exclusive: boolean;
  purpose: string;
  /** How long to wait for a conflicting lock to go away before failing (ms). */
  waitMs?: number;
  /** A lock not refreshed for this long is stale (ms); holders refresh every staleAfterMs / 6. */
  staleAfterMs?: number;
  now?: () => Date;
  /** Told when a stale lock is removed, so the user sees it. */
  onStale?: (lock: LockInfo, why: string) => void;
  /** Told when a lock file that is not a lock (e.g. not valid JSON) is removed: no holder can be known or honoured. */
  onDamaged?: (key: string, why: string) => void;
  /** Told once, when a conflicting lock makes this one wait (for up to `waitMs`): a silent wait looks like a hang. */
  onWait?: (holder: LockInfo, waitMs: number) => void;
  /** The snapshot this holder writes (LockInfo.snapshot). */
  snapshot?: string;
  /** Stops waiting for a conflicting lock. */
  signal?: AbortSignal;
}

export const DEFAULT_STALE_MS = 30 * 60_000;

/**
 * Repository lock in the restic style: each holder writes its own lock blob, then looks at the
 * others; no atomic create is needed, so it works the same on a folder and on S3.
 */
export class RepoLock {
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private released = false;
  private wasLost = false;

  private constructor(
    private readonly store: BlobStore,
    readonly info: LockInfo,
  ) {}

  static async acquire(store: BlobStore, options: LockOptions): Promise<RepoLock> {
    const now = options.now ?? (() => new Date());
    const staleAfter = options.staleAfterMs ?? DEFAULT_STALE_MS;
    const deadline = Date.now() + (options.waitMs ?? 0);
    let waiting = false;
    const t = now().toISOString();
    const info: LockInfo = {
      id: `${t.replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`,
      exclusive: options.exclusive,
      host: hostname(),
      pid: process.pid,
      purpose: options.purpose,
      time: t,
      refreshed: t,
      ...(options.snapshot ? { snapshot: options.snapshot } : {}),
    };
    for (;;) {
      await store.put(KEYS.lock(info.id), lockBytes(info));
      await failpoint('lock.after-write');
      const { locks, damaged } = await readLockFiles(store);
      let conflict: LockInfo | undefined;
      for (const other of locks) {
        if (other.id === info.id) continue;
        const stale = staleReason(other, now(), staleAfter);
        if (stale) {
          // A failure to remove only leaves the stale lock for the next run (or `drkit unlock`) to remove.
          const why = await removeStaleLock(store, other, stale).catch(() => stale);
          options.onStale?.(other, why);
        } else if (other.exclusive || info.exclusive) conflict ??= other;
      }
      for (const d of damaged)
        if (
          await store.delete(d.key).then(
            () => true,
            () => false,
          )
        )
          options.onDamaged?.(d.key, d.why);
      if (!conflict) {
        const lock = new RepoLock(store, info);
        const refresh = () => {
          lock.refreshing ??= lock.refresh(now).finally(() => (lock.refreshing = undefined));
        };
        lock.timer = setInterval(refresh, Math.max(1000, staleAfter / 6));
        lock.timer.unref();
        // A refresh is minutes away; a test that arms its failpoint gets one at once.
        if (failpointArmed('lock.refresh')) setImmediate(refresh);
        return lock;
      }
      await store.delete(KEYS.lock(info.id));
      if (Date.now() >= deadline)
        throw new RepoError(
          RepoErrorCode.LOCKED,
          conflict.damaged
            ? `The repository at ${store.location} is locked by a damaged lock file: ${conflict.damaged}. Who ` +
                `holds it cannot be told, so it counts as an exclusive lock.`
            : `The repository at ${store.location} is locked${conflict.exclusive ? ' exclusively' : ''} by ` +
                `"${conflict.purpose}" (pid ${conflict.pid} on ${conflict.host}, since ${conflict.time}).`,
          {
            hint: conflict.damaged
              ? 'If no drkit is using the repository now, remove it with `drkit unlock --all`; a holder still ' +
                'running stops at its next refresh or commit, since its lock no longer reads as its own.'
              : 'Wait for it to finish and try again. If that process is gone (e.g. a crashed machine), run ' +
                '`drkit unlock`.',
            details: { lock: conflict },
          },
        );
      if (!waiting) {
        waiting = true;
        options.onWait?.(conflict, options.waitMs ?? 0);
      }
      // Jitter keeps two waiters that collided from colliding again in lockstep.
      if (!options.signal?.aborted) await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
      if (options.signal?.aborted)
        throw new RepoError(
          RepoErrorCode.INTERRUPTED,
          `Interrupted while waiting for the lock "${conflict.purpose}" holds on ${store.location}: nothing ` +
            `was written.`,
          {
            hint: 'Run the command again.',
            cause: options.signal.reason,
          },
        );
    }
  }

  /** True once the lock file was found gone or not ours (`drkit unlock --all`, or removed as stale elsewhere). */
  get lost(): boolean {
    return this.wasLost;
  }

  // Rewriting a lock that someone removed would hide that others may already have acted on its absence.
  private async refresh(now: () => Date): Promise<void> {
    // A refresh that fails is tried again at the next one; it must never end the process.
    await this.refreshOnce(now).catch(() => {});
  }

  private async refreshOnce(now: () => Date): Promise<void> {
    await failpoint('lock.refresh');
    // A failed read says nothing either way: the next refresh tries again.
    const held = await this.isHeld().catch(() => undefined);
    if (held === false) this.markLost();
    if (!held || this.lost || this.released) return;
    this.info.refreshed = now().toISOString();
    await this.store.put(KEYS.lock(this.info.id), lockBytes(this.info)).catch(() => {});
  }

  /** Throws REPO_LOCK_LOST unless our lock file is still in place; call it right before committing. */
  async assertHeld(): Promise<void> {
    if (!this.lost && !(await this.isHeld())) this.markLost();
    if (this.lost)
      throw new RepoError(
        RepoErrorCode.LOCK_LOST,
        `The repository lock of "${this.info.purpose}" was removed while it ran (by \`drkit unlock --all\`, ` +
          `or by another process that took it for stale); nothing was committed.`,
        {
          hint:
            `Run the ${this.info.purpose} again. Remove only stale locks (\`drkit unlock\` without --all) ` +
            `while drkit may be running.`,
          details: { lock: this.info },
        },
      );
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    this.released = true;
    // A refresh in flight must not write the lock back after we delete it.
    await this.refreshing;
    await this.store.delete(KEYS.lock(this.info.id));
  }

  private async isHeld(): Promise<boolean> {
    try {
      const stored = await readLock(this.store, KEYS.lock(this.info.id));
      return stored.id === this.info.id && stored.host === this.info.host && stored.pid === this.info.pid;
    } catch (err) {
      if (
        (err as { code?: string }).code === StorageErrorCode.NOT_FOUND ||
        err instanceof SyntaxError ||
        err instanceof RepoError
      )
        return false;
      throw err;
    }
  }

  private markLost(): void {
    this.wasLost = true;
    clearInterval(this.timer);
  }
}

/** A lock file, its checksum checked; throws SyntaxError or REPO_CHECKSUM_MISMATCH when it is damaged. */
async function readLock(store: BlobStore, key: string): Promise<LockInfo> {
  const json = JSON.parse((await readSmallBlob(store, key)).toString('utf8')) as unknown;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SyntaxError('not a JSON object');
  checkMetadataChecksum(json, LOCK_FIELDS, key, store.location);
  const { [CHECKSUM_FIELD]: _checksum, ...info } = json as LockInfo & { [CHECKSUM_FIELD]?: string };
  return info;
}

export async function readLocks(store: BlobStore): Promise<LockInfo[]> {
  return (await readLockFiles(store)).locks;
}

/**
 * The locks, and the lock files that are not locks. A lock's identity is its key, never the `id`
 * it holds: removing a stale lock deletes the key that was listed, whatever the file says.
 * - A file that is not a JSON lock with fields in range (a pid of 0 would ask after a whole process
 *   group) cannot be anyone's lock, since puts are atomic: it holds nothing and is removed.
 * - A lock that parses but fails its checksum has a holder nobody can tell: it counts as an
 *   exclusive lock, never stale, until `unlock --all` removes it.
 */
async function readLockFiles(
  store: BlobStore,
): Promise<{ locks: LockInfo[]; damaged: Array<{ key: string; why: string }> }> {
  const locks: LockInfo[] = [];
  const damaged: Array<{ key: string; why: string }> = [];
  for await (const b of store.list(KEYS.locks)) {
    const id = b.key.slice(KEYS.locks.length, -'.json'.length);
    if (b.key !== KEYS.lock(id)) continue;
    let json: unknown;
    try {
      json = JSON.parse((await readSmallBlob(store, b.key)).toString('utf8'));
    } catch (err) {
      if ((err as { code?: string }).code === StorageErrorCode.NOT_FOUND) continue; // removed while we listed
      damaged.push({ key: b.key, why: 'it is not valid JSON' });
      continue;
    }
    const info = asLockInfo(json);
    if (!info) {
      damaged.push({
        key: b.key,
        why: 'it is not a drkit lock (exclusive, host, a pid above 0, purpose, time and refreshed are required)',
      });
      continue;
    }
    try {
      checkMetadataChecksum(json, LOCK_FIELDS, b.key, store.location);
    } catch (err) {
      locks.push({
        id,
        exclusive: true,
        host: '',
        pid: 0,
        purpose: 'damaged lock',
        time: '',
        refreshed: '',
        damaged: (err as Error).message.replace(/\.$/, ''),
      });
      continue;
    }
    const { [CHECKSUM_FIELD]: _checksum, ...fields } = info as LockInfo & { [CHECKSUM_FIELD]?: string };
    locks.push({ ...fields, id });
  }
  return { locks, damaged };
}

/**
 * Removes a stale lock and returns why, with what else went: when its holder is known to be gone
 * (a dead process on this host), the unlisted data of the snapshot it was writing. A holder stale
 * only by age may still be alive, so its data waits for prune.
 */
async function removeStaleLock(store: BlobStore, lock: LockInfo, why: string): Promise<string> {
  let removed = '';
  if (lock.snapshot && ownerGone(lock) && !(await store.stat(KEYS.snapshot(lock.snapshot)))) {
    let blobs = 0;
    for await (const b of store.list(KEYS.data(lock.snapshot))) {
      await store.delete(b.key);
      blobs++;
    }
    if (blobs) removed = `; removed the ${blobs} blob(s) of its unfinished snapshot ${lock.snapshot}`;
  }
  await store.delete(KEYS.lock(lock.id));
  return `${why}${removed}`;
}

/** One line for people about a stale lock that was removed (`why` says why and what went with it). */
export function describeStaleLock(lock: LockInfo, why: string): string {
  return `removed a stale lock of "${lock.purpose}" (pid ${lock.pid} on ${lock.host}): ${why}`;
}

export function describeLockWait(holder: LockInfo, waitMs: number): string {
  return (
    `waiting up to ${Math.ceil(waitMs / 1000)} s for the lock of "${holder.purpose}" ` +
    `(pid ${holder.pid} on ${holder.host}, since ${holder.time})`
  );
}

export function describeDamagedLock(key: string, why: string): string {
  return `removed ${key}, which is not a lock file: ${why}`;
}

/** The holder is a process of this host that no longer runs. */
export function ownerGone(owner: { host: string; pid: number }): boolean {
  return owner.host === hostname() && owner.pid !== process.pid && !processAlive(owner.pid);
}

function asLockInfo(v: unknown): LockInfo | undefined {
  const l = v as Partial<LockInfo> | null;
  const ok =
    typeof l === 'object' &&
    l !== null &&
    typeof l.exclusive === 'boolean' &&
    typeof l.host === 'string' &&
    Number.isSafeInteger(l.pid) &&
    (l.pid as number) > 0 &&
    typeof l.purpose === 'string' &&
    typeof l.time === 'string' &&
    Number.isFinite(Date.parse(l.refreshed as string));
  return ok ? (l as LockInfo) : undefined;
}

/** Why a lock is stale, or undefined if it may still be held. */
export function staleReason(lock: LockInfo, now: Date, staleAfterMs: number): string | undefined {
  if (lock.damaged) return undefined;
  if (ownerGone(lock)) return `process ${lock.pid} on this host (${lock.host}) is no longer running`;
  const age = now.getTime() - Date.parse(lock.refreshed);
  if (age > staleAfterMs) return `not refreshed for ${Math.round(age / 60_000)} minutes`;
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Removes every lock (`drkit unlock --all`) or only stale ones, and every lock file that is not a
 * lock (told to `onDamaged`); returns the locks removed.
 */
export async function removeLocks(
  store: BlobStore,
  options: { all: boolean; now?: Date; staleAfterMs?: number; onDamaged?: (key: string, why: string) => void },
): Promise<LockInfo[]> {
  const removed: LockInfo[] = [];
  const { locks, damaged } = await readLockFiles(store);
  for (const lock of locks) {
    const stale = staleReason(lock, options.now ?? new Date(), options.staleAfterMs ?? DEFAULT_STALE_MS);
    if (stale) await removeStaleLock(store, lock, stale);
    else if (options.all) await store.delete(KEYS.lock(lock.id));
    else continue;
    removed.push(lock);
  }
  for (const d of damaged) {
    await store.delete(d.key);
    options.onDamaged?.(d.key, d.why);
  }
  return removed;
}
