import type { Repository, SnapshotMeta } from '@drkit/repository';
import { asRestoreError, RestoreError, RestoreErrorCode } from './errors.js';
import { type ExtractJob, extractSource, type PendingMetadata } from './extract.js';
import { applyMetadata, moveIntoPlace, targetChanged } from './install.js';
import { type Counts, parseOrThrow, type RestorePlan, restorePlanSchema } from './plan-model.js';
import { type RestoreProgress, trackProgress } from './progress.js';
import { Salvage, type SalvageReport, withSalvageHint } from './salvage.js';
import { createStaging, type Staging } from './staging.js';
import { inspectTarget } from './target-state.js';

export interface RestoreHooks {
  onProgress?: (progress: RestoreProgress) => void;
  /** Told when the repository cannot be locked (it is read-only), so the restore runs without a lock. */
  onWarning?: (message: string) => void;
}

export interface RestoreResult {
  snapshot: string;
  target: string;
  written: Counts;
  /** Entries whose content was kept and whose mtime was set from the snapshot (`set-mtime`). */
  mtimeOnly: Counts;
  skipped: Counts;
  /** With `salvage`: the damaged blobs and what they cost. The restore is complete only when `lost` is empty. */
  salvage?: SalvageReport;
}

/**
 * Runs a plan: extracts and checks every selected source into a staging folder beside the
 * target, and only when all of it is good moves it into place. Until then the target is untouched.
 * It does what the plan's items say and nothing else: a folder the plan does not list is never
 * made, and metadata goes only to the items whose action sets it.
 */
export async function executeRestore(repo: Repository, planInput: RestorePlan, hooks: RestoreHooks = {}): Promise<RestoreResult> {
  const plan = parseOrThrow(restorePlanSchema, planInput, 'restore plan', 'Execute a plan made by planRestore of this version of drkit: plan the restore again.');
  // Shared: a prune waits until the archives are read, instead of deleting them mid-restore.
  return repo.withReadLock('restore', hooks.onWarning, () => executePlan(repo, plan, hooks));
}

async function executePlan(repo: Repository, plan: RestorePlan, hooks: RestoreHooks): Promise<RestoreResult> {
  const snapshot = await repo.resolveSnapshot(plan.snapshot);
  if (snapshot.id !== plan.snapshot)
    throw new RestoreError(RestoreErrorCode.BAD_OPTIONS, `The plan names snapshot "${plan.snapshot}", which is not a full snapshot id.`, {
      hint: 'Execute a plan made by planRestore.',
    });
  if ((await inspectTarget(plan.target)) !== plan.targetState) throw targetChanged(plan.target);

  const staging = await createStaging(plan.target, snapshot.id).catch((cause) => {
    throw asRestoreError(cause, `create a staging folder next to ${plan.target}`);
  });
  const progress = trackProgress(plan, hooks.onProgress);
  const salvage = plan.salvage ? new Salvage() : undefined;
  let pending: PendingMetadata[];
  try {
    pending = await extractAll(repo, snapshot, plan, staging, { ...progress, salvage });
    salvage?.removeLost(staging.tree);
  } catch (cause) {
    await staging.remove().catch(() => {});
    const error = asRestoreError(cause, `extract snapshot ${snapshot.id} next to ${plan.target}`);
    throw salvage ? error : withSalvageHint(error);
  }
  const changes = { count: 0 };
  try {
    await moveIntoPlace(salvage ? { ...plan, items: plan.items.filter((item) => !salvage.isLost(item.path)) } : plan, staging, changes);
    await applyMetadata(plan.target, pending);
  } catch (cause) {
    if (changes.count > 0) throw incomplete(plan.target, staging.root, cause);
    await staging.remove().catch(() => {});
    throw asRestoreError(cause, `move the restored files into ${plan.target}`);
  }
  await staging.remove().catch(() => {});
  return { snapshot: snapshot.id, target: plan.target, written: progress.written, mtimeOnly: plan.mtimeOnly, skipped: plan.skipped, ...(salvage ? { salvage: salvage.report() } : {}) };
}

async function extractAll(
  repo: Repository,
  snapshot: SnapshotMeta,
  plan: RestorePlan,
  staging: Staging,
  callbacks: Pick<ExtractJob, 'onBytes' | 'onWritten' | 'salvage'>,
): Promise<PendingMetadata[]> {
  const planned = new Map(plan.items.map((item) => [item.path, item]));
  const pending: PendingMetadata[] = [];
  for (const layout of plan.sources) {
    const source = repo.source(snapshot, layout.name);
    pending.push(...(await extractSource(repo, { snapshot, source, layout, planned, tree: staging.tree, ...callbacks })));
  }
  return pending;
}

// Once the target has changed it cannot be put back; staging is kept, it holds what was not moved yet.
function incomplete(target: string, stagingRoot: string, cause: unknown): RestoreError {
  const inner = asRestoreError(cause, `move the restored files into ${target}`);
  return new RestoreError(RestoreErrorCode.INCOMPLETE, `The restore into ${target} stopped part-way through moving files into place: ${inner.message}`, {
    cause: inner,
    hint: `Fix the cause, then run the restore again with --overwrite if-changed to finish it. ${stagingRoot} holds what was not moved yet and anything moved aside; delete it afterwards.`,
    details: { target, staging: stagingRoot, cause: inner.code },
  });
}
