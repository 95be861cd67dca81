import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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
}

const LOCK_FIELDS = new Set(['id', 'exclusive', 'host', 'pid', 'purpose', 'time', 'refreshed', CHECKSUM_FIELD]);
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
    const t = now().toISOString();
    const info: LockInfo = {
      id: `${t.replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`,
      exclusive: options.exclusive,
      host: hostname(),
      pid: process.pid,
      purpose: options.purpose,
      time: t,
      refreshed: t,
    };
    for (;;) {
      await store.put(KEYS.lock(info.id), lockBytes(info));
      const conflict = (await readLocks(store)).find((other) => {
        if (other.id === info.id) return false;
        const stale = staleReason(other, now(), staleAfter);
        if (stale) {
          options.onStale?.(other, stale);
          // Not awaited, and a failure only leaves the stale lock for the next run (or `drkit unlock`) to remove.
          store.delete(KEYS.lock(other.id)).catch(() => {});
          return false;
        }
        return other.exclusive || info.exclusive;
      });
      if (!conflict) {
        const lock = new RepoLock(store, info);
        lock.timer = setInterval(() => {
          lock.refreshing ??= lock.refresh(now).finally(() => (lock.refreshing = undefined));
        }, Math.max(1000, staleAfter / 6));
        lock.timer.unref();
        return lock;
      }
      await store.delete(KEYS.lock(info.id));
      if (Date.now() >= deadline)
        throw new RepoError(
          RepoErrorCode.LOCKED,
          conflict.damaged
            ? `The repository at ${store.location} is locked by a damaged lock file: ${conflict.damaged}. Who holds it cannot be told, so it counts as an exclusive lock.`
            : `The repository at ${store.location} is locked${conflict.exclusive ? ' exclusively' : ''} by "${conflict.purpose}" (pid ${conflict.pid} on ${conflict.host}, since ${conflict.time}).`,
          {
            hint: conflict.damaged
              ? 'If no drkit is using the repository now, remove it with `drkit unlock --all`; a holder still running stops at its next refresh or commit, since its lock no longer reads as its own.'
              : 'Wait for it to finish and try again. If that process is gone (e.g. a crashed machine), run `drkit unlock`.',
            details: { lock: conflict },
          },
        );
      // Jitter keeps two waiters that collided from colliding again in lockstep.
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
    }
  }

  /** True once the lock file was found gone or not ours (`drkit unlock --all`, or removed as stale elsewhere). */
  get lost(): boolean {
    return this.wasLost;
  }

  // Rewriting a lock that someone removed would hide that others may already have acted on its absence.
  private async refresh(now: () => Date): Promise<void> {
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
        `The repository lock of "${this.info.purpose}" was removed while it ran (by \`drkit unlock --all\`, or by another process that took it for stale); nothing was committed.`,
        {
          hint: `Run the ${this.info.purpose} again. Remove only stale locks (\`drkit unlock\` without --all) while drkit may be running.`,
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
      if ((err as { code?: string }).code === StorageErrorCode.NOT_FOUND || err instanceof SyntaxError || err instanceof RepoError) return false;
      throw err;
    }
  }

  private markLost(): void {
    this.wasLost = true;
    clearInterval(this.timer);
  }
}

/**
 * Every lock that parses as one. A lock's identity is its key, never the `id` it holds: removing
 * a stale lock deletes the key that was listed, whatever the file says. A file whose fields are
 * out of range (a pid of 0 would ask after a whole process group) holds nothing, as does a lock
 * removed while we listed.
 */

/** A lock file, its checksum checked; throws SyntaxError or REPO_CHECKSUM_MISMATCH when it is damaged. */
async function readLock(store: BlobStore, key: string): Promise<LockInfo> {
  const json = JSON.parse((await readSmallBlob(store, key)).toString('utf8')) as unknown;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SyntaxError('not a JSON object');
  checkMetadataChecksum(json, LOCK_FIELDS, key, store.location);
  const { [CHECKSUM_FIELD]: _checksum, ...info } = json as LockInfo & { [CHECKSUM_FIELD]?: string };
  return info;
}

export async function readLocks(store: BlobStore): Promise<LockInfo[]> {
  const locks: LockInfo[] = [];
  for await (const b of store.list(KEYS.locks)) {
    const id = b.key.slice(KEYS.locks.length, -'.json'.length);
    if (b.key !== KEYS.lock(id)) continue;
    try {
      const info = asLockInfo(await readLock(store, b.key));
      if (info) locks.push({ ...info, id });
    } catch (err) {
      // A lock removed while we listed is simply gone; one that cannot be read is damaged, and still a lock.
      if ((err as { code?: string }).code === StorageErrorCode.NOT_FOUND) continue;
      const why = err instanceof SyntaxError ? `${b.key} in ${store.location} is not a JSON object` : (err as Error).message.replace(/\.$/, '');
      locks.push({ id, exclusive: true, host: '', pid: 0, purpose: 'damaged lock', time: '', refreshed: '', damaged: why });
    }
  }
  return locks;
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
  if (lock.host === hostname() && lock.pid !== process.pid && !processAlive(lock.pid))
    return `process ${lock.pid} on this host (${lock.host}) is no longer running`;
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

/** Removes every lock (`drkit unlock --all`) or only stale ones; returns what was removed. */
export async function removeLocks(store: BlobStore, options: { all: boolean; now?: Date; staleAfterMs?: number }): Promise<LockInfo[]> {
  const removed: LockInfo[] = [];
  for (const lock of await readLocks(store)) {
    if (options.all || staleReason(lock, options.now ?? new Date(), options.staleAfterMs ?? DEFAULT_STALE_MS)) {
      await store.delete(KEYS.lock(lock.id));
      removed.push(lock);
    }
  }
  return removed;
}
