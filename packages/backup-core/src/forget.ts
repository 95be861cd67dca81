import type { LockInfo, Repository } from '@drkit/repository';
import { planRetention, type RetentionDecision, type RetentionPolicy } from './retention/index.js';

export interface ForgetOptions {
  policy: RetentionPolicy;
  now: Date;
  /** Print the decisions only; takes no lock and changes nothing. */
  dryRun?: boolean;
  /** Also delete the archives that no remaining snapshot needs. */
  prune?: boolean;
  /** How long to wait for other users of the repository (ms). */
  waitMs?: number;
  onStaleLock?: (lock: LockInfo, why: string) => void;
}

export interface ForgetResult {
  decisions: RetentionDecision[];
  removed: string[];
  pruned?: { snapshots: string[]; blobs: number; bytes: number };
}

/**
 * Applies a retention policy under the exclusive lock. Metadata goes newest first (a dependent
 * before what it depends on) and before any data, so a run killed at any point leaves every
 * listed snapshot restorable, and the next run finishes the job.
 */
export async function forgetSnapshots(repo: Repository, options: ForgetOptions): Promise<ForgetResult> {
  const plan = async () => planRetention(await repo.listSnapshots(), options.policy, options.now);
  if (options.dryRun) {
    const decisions = await plan();
    const removed = decisions.filter((d) => !d.keep).map((d) => d.id);
    const pruned = options.prune ? await repo.pruneData({ dryRun: true, assumeForgotten: removed }) : undefined;
    return { decisions, removed, ...(pruned ? { pruned } : {}) };
  }
  const lock = await repo.lock({ exclusive: true, purpose: options.prune ? 'forget --prune' : 'forget', waitMs: options.waitMs, onStale: options.onStaleLock });
  try {
    // Planned under the lock: no backup can add a snapshot the plan has not seen.
    const decisions = await plan();
    const removed: string[] = [];
    for (const d of decisions) {
      if (d.keep) continue;
      await repo.forgetSnapshot(d.id);
      removed.push(d.id);
    }
    const pruned = options.prune ? await repo.pruneData() : undefined;
    return { decisions, removed, ...(pruned ? { pruned } : {}) };
  } finally {
    await lock.release().catch(() => {});
  }
}
