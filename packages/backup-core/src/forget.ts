import { failpoint } from '@drkit/errors';
import {
  type Leftovers,
  type LockInfo,
  matchesFilter,
  type Repository,
  type SnapshotFilter,
  sourceNames,
} from '@drkit/repository';
import { BackupError, BackupErrorCode } from './errors.js';
import { planForgetIds } from './forget-ids.js';
import {
  planRetentionGroups,
  type RetentionDecision,
  type RetentionGroup,
  type RetentionPolicy,
} from './retention/index.js';

export interface ForgetOptions {
  /** Remove what this policy does not keep, or else: */
  policy?: RetentionPolicy;
  /** Remove these snapshots (ids, unique prefixes, latest), refused when others need them, */
  ids?: readonly string[];
  /** unless this also removes every snapshot that needs them. */
  withDependents?: boolean;
  now: Date;
  /** Print the decisions only; takes no lock and changes nothing. */
  dryRun?: boolean;
  /** Also delete the archives that no remaining snapshot needs. */
  prune?: boolean;
  /** How long to wait for other users of the repository (ms). */
  waitMs?: number;
  onStaleLock?: (lock: LockInfo, why: string) => void;
  /** Only snapshots this filter selects are planned; the others (and what they need) are kept. */
  filter?: SnapshotFilter;
  onDamagedLock?: (key: string, why: string) => void;
  /** Told once when another user's lock makes forget wait (up to waitMs). */
  onLockWait?: (holder: LockInfo, waitMs: number) => void;
  /** Stops between two deletions (BACKUP_FORGET_INTERRUPTED); every listed snapshot stays restorable. */
  signal?: AbortSignal;
}

export interface ForgetResult {
  /** The plan per host and source set (restic's --group-by host,paths); none for `ids`. */
  groups: RetentionGroup[];
  /** Every group's decisions, in group order. */
  decisions: RetentionDecision[];
  removed: string[];
  /** With `leftovers`: the temp files and empty folders of interrupted writes that prune removed. */
  pruned?: { snapshots: string[]; blobs: number; bytes: number; tooRecent: string[]; leftovers?: Leftovers };
}

/**
 * Applies a retention policy to each group of snapshots (same host, same sources) under the
 * exclusive lock, so one host's or source set's backups never age out another's. Metadata goes
 * newest first (a dependent before what it depends on) and before any data, so a run killed at
 * any point leaves every listed snapshot restorable, and the next run finishes the job.
 */
export async function forgetSnapshots(repo: Repository, options: ForgetOptions): Promise<ForgetResult> {
  const plan = async () => {
    if (options.ids) return { groups: [], decisions: await planForgetIds(repo, options.ids, options) };
    if (!options.policy) throw new TypeError('forgetSnapshots needs a policy or ids');
    const all = await repo.listSnapshots();
    const selected = new Set(all.filter((s) => matchesFilter(s, options.filter)).map((s) => s.id));
    // A source that failed still makes up the snapshot's source set: a partial backup stays in its group.
    const snapshots = all.map((s) => ({ ...s, sources: sourceNames(s) }));
    const groups = planRetentionGroups(snapshots, options.policy, options.now, { selected: (s) => selected.has(s.id) });
    return { groups, decisions: groups.flatMap((g) => g.decisions) };
  };
  if (options.dryRun) {
    const { groups, decisions } = await plan();
    const removed = newestFirst(decisions.filter((d) => !d.keep)).map((d) => d.id);
    const pruned = options.prune ? await repo.pruneData({ dryRun: true, assumeForgotten: removed }) : undefined;
    return { groups, decisions, removed, ...(pruned ? { pruned } : {}) };
  }
  const { signal } = options;
  const purpose = options.prune ? 'forget --prune' : 'forget';
  const lock = await repo.lock({
    exclusive: true,
    purpose,
    waitMs: options.waitMs,
    onStale: options.onStaleLock,
    onDamaged: options.onDamagedLock,
    onWait: options.onLockWait,
    signal,
  });
  const removed: string[] = [];
  let toRemove = 0;
  try {
    // Planned under the lock: no backup can add a snapshot the plan has not seen.
    const { groups, decisions } = await plan();
    const doomed = newestFirst(decisions.filter((x) => !x.keep));
    toRemove = doomed.length;
    // Newest first across groups too: a dependent always goes before what it depends on.
    for (const d of doomed) {
      signal?.throwIfAborted();
      await repo.forgetSnapshot(d.id);
      removed.push(d.id);
      await failpoint(options.prune ? 'prune.after-delete-meta' : 'forget.after-delete-meta');
    }
    const pruned = options.prune ? await repo.pruneData({ signal }) : undefined;
    return { groups, decisions, removed, ...(pruned ? { pruned } : {}) };
  } catch (cause) {
    if (!signal?.aborted) throw cause;
    const done =
      removed.length === 0
        ? 'before it removed anything'
        : removed.length < toRemove
          ? `after removing ${removed.length} of ${toRemove} snapshot(s)`
          : `after removing all ${toRemove} snapshot(s), while deleting their data`;
    throw new BackupError(
      BackupErrorCode.FORGET_INTERRUPTED,
      `The ${purpose} was interrupted ${done}; every snapshot still listed is intact.`,
      {
        cause,
        hint:
          `Run the same ${purpose} again to finish` +
          `${options.prune ? '' : ', and `drkit forget --prune` to delete the data'}.`,
        details: { removed },
      },
    );
  } finally {
    await lock.release().catch(() => {});
  }
}

function newestFirst(decisions: RetentionDecision[]): RetentionDecision[] {
  return [...decisions].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (a.id < b.id ? 1 : -1));
}
