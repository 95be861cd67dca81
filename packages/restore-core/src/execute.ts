import path from 'node:path';
import { failpoint } from '@drkit/errors';
import type { Repository, SnapshotMeta } from '@drkit/repository';
import { asRestoreError, RestoreError, RestoreErrorCode } from './errors.js';
import { type ExtractJob, extractSource, type PendingMetadata } from './extract.js';
import { applyMetadata, moveIntoPlace, removeAbsent, targetChanged } from './install.js';
import { originsOf, type SourceOrigin } from './origin.js';
import { type Counts, parseOrThrow, type RestorePlan, restorePlanSchema } from './plan-model.js';
import { type RestoreProgress, trackProgress } from './progress.js';
import { Salvage, type SalvageReport, withSalvageHint } from './salvage.js';
import { createStaging, removeAbandonedStaging, type Staging } from './staging.js';
import { inspectTarget } from './target-state.js';

export interface RestoreHooks {
  onProgress?: (progress: RestoreProgress) => void;
  /**
   * Told when the repository cannot be locked (it is read-only), so the restore runs without a lock; and of staging
   * folders of killed restores that were removed.
   */
  onWarning?: (message: string) => void;
  /** Stops the restore at the next entry; its staging is removed (RESTORE_INTERRUPTED). */
  signal?: AbortSignal;
}

export interface RestoreResult {
  snapshot: string;
  target: string;
  written: Counts;
  /** Entries whose content was kept and whose mtime was set from the snapshot (`set-mtime`). */
  mtimeOnly: Counts;
  skipped: Counts;
  /** With `delete`: the paths removed from the target (each with all below it). */
  removed?: string[];
  /** For each restored source: the snapshot, its time and host, and the path it was read from. */
  from: SourceOrigin[];
  /** With `salvage`: the damaged blobs and what they cost. The restore is complete only when `lost` is empty. */
  salvage?: SalvageReport;
}

/**
 * Runs a plan: extracts and checks every selected source into a staging folder beside the
 * target, and only when all of it is good moves it into place. Until then the target is untouched.
 * It does what the plan's items say and nothing else: a folder the plan does not list is never
 * made, and metadata goes only to the items whose action sets it.
 */
export async function executeRestore(
  repo: Repository,
  planInput: RestorePlan,
  hooks: RestoreHooks = {},
): Promise<RestoreResult> {
  const plan = parseOrThrow(
    restorePlanSchema,
    planInput,
    'restore plan',
    'Execute a plan made by planRestore of this version of drkit: plan the restore again.',
  );
  // Shared: a prune waits until the archives are read, instead of deleting them mid-restore.
  return repo.withReadLock('restore', hooks.onWarning, () => executePlan(repo, plan, hooks));
}

async function executePlan(repo: Repository, plan: RestorePlan, hooks: RestoreHooks): Promise<RestoreResult> {
  const snapshot = await repo.resolveSnapshot(plan.snapshot);
  if (snapshot.id !== plan.snapshot)
    throw new RestoreError(
      RestoreErrorCode.BAD_OPTIONS,
      `The plan names snapshot "${plan.snapshot}", which is not a full snapshot id.`,
      {
        hint: 'Execute a plan made by planRestore.',
      },
    );
  if ((await inspectTarget(plan.target)) !== plan.targetState) throw targetChanged(plan.target);
  for (const left of await removeAbandonedStaging(plan.target))
    hooks.onWarning?.(
      `removed ${path.join(path.dirname(plan.target), left.name)}, the staging folder of a restore that was ` +
        `killed (pid ${left.pid} is gone)`,
    );

  const staging = await createStaging(plan.target, snapshot.id).catch((cause) => {
    throw asRestoreError(cause, `create a staging folder next to ${plan.target}`);
  });
  const progress = trackProgress(plan, hooks.onProgress);
  const { signal } = hooks;
  const untouched = (cause: unknown) =>
    new RestoreError(
      RestoreErrorCode.INTERRUPTED,
      `The restore of ${snapshot.id} into ${plan.target} was interrupted before anything was moved into ` +
        `place: the target is untouched, and the staging folder was removed.`,
      {
        cause,
        hint: 'Run the restore again.',
      },
    );
  const salvage = plan.salvage ? new Salvage() : undefined;
  let pending: PendingMetadata[];
  try {
    pending = await extractAll(repo, snapshot, plan, staging, { ...progress, salvage, signal });
    salvage?.removeLost(staging.tree);
    await failpoint('restore.after-extract');
    signal?.throwIfAborted();
  } catch (cause) {
    await staging.remove().catch(() => {});
    if (signal?.aborted) throw untouched(cause);
    const error = asRestoreError(cause, `extract snapshot ${snapshot.id} next to ${plan.target}`);
    throw salvage ? error : withSalvageHint(error);
  }
  const changes = { count: 0 };
  try {
    await moveIntoPlace(
      salvage ? { ...plan, items: plan.items.filter((item) => !salvage.isLost(item.path)) } : plan,
      staging,
      changes,
      signal,
    );
    removeAbsent(plan, staging, changes, signal);
    await applyMetadata(plan.target, pending);
  } catch (cause) {
    // Interrupted, staging goes either way: the restore run again takes everything from the snapshot.
    if (changes.count > 0 && !signal?.aborted) throw incomplete(plan.target, staging.root, cause);
    await staging.remove().catch(() => {});
    if (changes.count > 0) throw movedPartly(snapshot.id, plan.target, changes.count, cause);
    if (signal?.aborted) throw untouched(cause);
    throw asRestoreError(cause, `move the restored files into ${plan.target}`);
  }
  await staging.remove().catch(() => {});
  return {
    snapshot: snapshot.id,
    target: plan.target,
    written: progress.written,
    mtimeOnly: plan.mtimeOnly,
    skipped: plan.skipped,
    ...(plan.remove ? { removed: plan.remove.map((r) => r.path) } : {}),
    from: originsOf(
      snapshot,
      plan.sources.map((l) => l.name),
    ),
    ...(salvage ? { salvage: salvage.report() } : {}),
  };
}

async function extractAll(
  repo: Repository,
  snapshot: SnapshotMeta,
  plan: RestorePlan,
  staging: Staging,
  callbacks: Pick<ExtractJob, 'onBytes' | 'onWritten' | 'salvage' | 'signal'>,
): Promise<PendingMetadata[]> {
  const planned = new Map(plan.items.map((item) => [item.path, item]));
  const pending: PendingMetadata[] = [];
  for (const layout of plan.sources) {
    const source = repo.source(snapshot, layout.name);
    pending.push(
      ...(await extractSource(repo, { snapshot, source, layout, planned, tree: staging.tree, ...callbacks })),
    );
  }
  return pending;
}

function movedPartly(snapshot: string, target: string, changes: number, cause: unknown): RestoreError {
  return new RestoreError(
    RestoreErrorCode.INTERRUPTED,
    `The restore of ${snapshot} into ${target} was interrupted part-way through moving files into place ` +
      `(${changes} change(s) made): the target holds part of the snapshot; the staging folder was removed.`,
    {
      cause,
      hint:
        `Finish it with \`drkit restore ${snapshot} --target ${target} --overwrite if-changed\` (add the same ` +
        `--source, --include and --delete as before).`,
      details: { target, changes, finish: ['--overwrite', 'if-changed'] },
    },
  );
}

// Once the target has changed it cannot be put back; staging is kept, it holds what was not moved yet.
function incomplete(target: string, stagingRoot: string, cause: unknown): RestoreError {
  const inner = asRestoreError(cause, `move the restored files into ${target}`);
  return new RestoreError(
    RestoreErrorCode.INCOMPLETE,
    `The restore into ${target} stopped part-way through moving files into place: ${inner.message}`,
    {
      cause: inner,
      hint:
        `Fix the cause, then run the restore again with --overwrite if-changed to finish it. ${stagingRoot} ` +
        `holds what was not moved yet and anything moved aside; delete it afterwards.`,
      details: { target, staging: stagingRoot, cause: inner.code },
    },
  );
}
