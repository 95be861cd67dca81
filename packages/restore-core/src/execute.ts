import path from 'node:path';
import type { Repository, SnapshotMeta } from '@drkit/repository';
import { asRestoreError, RestoreError, RestoreErrorCode } from './errors.js';
import { type ExtractJob, extractSource, type PendingDir } from './extract.js';
import { applyDirMetadata, moveIntoPlace, targetChanged } from './install.js';
import { originsOf, type SourceOrigin } from './origin.js';
import { type Counts, parseOrThrow, type RestorePlan, restorePlanSchema } from './plan-model.js';
import { type RestoreProgress, trackProgress } from './progress.js';
import { createStaging, type Staging } from './staging.js';
import { inspectTarget, lstatOrUndefined } from './target-state.js';

export interface RestoreHooks {
  onProgress?: (progress: RestoreProgress) => void;
  /** Told when the repository cannot be locked (it is read-only), so the restore runs without a lock. */
  onWarning?: (message: string) => void;
}

export interface RestoreResult {
  snapshot: string;
  target: string;
  written: Counts;
  skipped: Counts;
  /** For each restored source: the snapshot, its time and host, and the path it was read from. */
  from: SourceOrigin[];
}

/**
 * Runs a plan: extracts and checks every selected source into a staging folder beside the
 * target, and only when all of it is good moves it into place. Until then the target is untouched.
 */
export async function executeRestore(repo: Repository, planInput: RestorePlan, hooks: RestoreHooks = {}): Promise<RestoreResult> {
  const plan = parseOrThrow(restorePlanSchema, planInput, 'restore plan');
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
  let pendingDirs: PendingDir[];
  try {
    pendingDirs = await extractAll(repo, snapshot, plan, staging, progress);
  } catch (cause) {
    await staging.remove().catch(() => {});
    throw asRestoreError(cause, `extract snapshot ${snapshot.id} next to ${plan.target}`);
  }
  const changes = { count: 0 };
  try {
    const roots = await sourceRoots(snapshot, plan);
    await moveIntoPlace(plan, staging, changes);
    await applyDirMetadata(plan.target, [...pendingDirs, ...roots]);
  } catch (cause) {
    if (changes.count > 0) throw incomplete(plan.target, staging.root, cause);
    await staging.remove().catch(() => {});
    throw asRestoreError(cause, `move the restored files into ${plan.target}`);
  }
  await staging.remove().catch(() => {});
  return { snapshot: snapshot.id, target: plan.target, written: progress.written, skipped: plan.skipped, from: originsOf(snapshot, plan.sources.map((l) => l.name)) };
}

async function extractAll(
  repo: Repository,
  snapshot: SnapshotMeta,
  plan: RestorePlan,
  staging: Staging,
  callbacks: Pick<ExtractJob, 'onBytes' | 'onWritten'>,
): Promise<PendingDir[]> {
  const planned = new Map(plan.items.map((item) => [item.path, item]));
  const pending: PendingDir[] = [];
  for (const layout of plan.sources) {
    const source = repo.source(snapshot, layout.name);
    pending.push(...(await extractSource(repo, { snapshot, source, layout, planned, tree: staging.tree, onBytes: callbacks.onBytes, onWritten: callbacks.onWritten })));
  }
  return pending;
}

/**
 * The folder each source lands in gets the mode and mtime of the source's root (metadata `root`;
 * older snapshots lack it and leave the folder as it is). Like any folder, an existing one is
 * left alone under --overwrite never. Looked at before anything is moved into place.
 */
async function sourceRoots(snapshot: SnapshotMeta, plan: RestorePlan): Promise<PendingDir[]> {
  const roots: PendingDir[] = [];
  for (const layout of plan.sources) {
    const root = snapshot.sources.find((s) => s.name === layout.name)?.root;
    if (!root) continue;
    const existed = plan.targetState === 'non-empty' && (layout.dir === '' || lstatOrUndefined(path.join(plan.target, layout.dir)) !== undefined);
    if (existed && plan.overwrite === 'never') continue;
    roots.push({ path: layout.dir, mode: root.mode, mtime: root.mtime });
  }
  return roots;
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
