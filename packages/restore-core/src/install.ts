import { chmodSync, lutimesSync, mkdirSync, renameSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { failpoint } from '@drkit/errors';
import { fsPath } from '@drkit/repository';
import { RestoreError, RestoreErrorCode, unsafePath } from './errors.js';
import type { PendingMetadata } from './extract.js';
import { isWrite, type RestorePlan } from './plan-model.js';
import { depthOf, parentOf } from './paths.js';
import type { Staging } from './staging.js';
import { lstatOrUndefined } from './target-state.js';
import { seconds } from './small-writes.js';
import { breather } from './waits.js';

const OWNER_WX = 0o300;

/**
 * Moves the fully extracted and checked entries from staging into the target, following the
 * plan's actions, with blocking calls (see breather): awaited one by one, moving the reference
 * tree over a copy of itself cost ~1.5 s more CPU.
 */
export async function moveIntoPlace(
  plan: RestorePlan,
  staging: Staging,
  changes: { count: number },
  signal?: AbortSignal,
): Promise<void> {
  if (plan.targetState === 'missing') {
    renameSync(staging.tree, plan.target);
    changes.count++;
    return;
  }
  const dirs = new TargetDirs(plan.target);
  const breathe = breather();
  let trashed = 0;
  let moved = 0;
  try {
    // Items are sorted by path, so each folder is in place before what it holds.
    for (const item of plan.items) {
      if (!isWrite(item.action)) continue;
      signal?.throwIfAborted();
      await breathe();
      const dest = path.join(plan.target, item.path);
      dirs.ensure(parentOf(item.path));
      const now = lstatOrUndefined(dest);
      if (now && item.action === 'create' && !(now.isDirectory() && item.type === 'dir')) throw targetChanged(dest);
      // rename() cannot swap a folder for a non-folder or back, so the old one is moved aside first.
      if (now && now.isDirectory() !== (item.type === 'dir')) {
        renameSync(fsPath(dest), path.join(staging.trash, String(trashed++)));
        changes.count++;
      }
      if (item.type !== 'dir') renameSync(fsPath(path.join(staging.tree, item.path)), fsPath(dest));
      else if (!now?.isDirectory()) mkdirSync(fsPath(dest));
      else continue;
      changes.count++;
      if (++moved === 1) await failpoint('restore.during-move');
    }
  } finally {
    dirs.relock();
  }
}

/**
 * Removes what `--delete` planned to remove, by moving it into the staging folder's trash (which
 * goes with staging): one rename per entry, whatever lies below it. Before folder metadata, since
 * removing an entry changes its folder's mtime. Something already gone is left gone.
 */
export function removeAbsent(
  plan: RestorePlan,
  staging: Staging,
  changes: { count: number },
  signal?: AbortSignal,
): void {
  let trashed = 0;
  for (const { path: rel } of plan.remove ?? []) {
    signal?.throwIfAborted();
    const abs = path.join(plan.target, rel);
    if (!lstatOrUndefined(abs)) continue;
    renameSync(fsPath(abs), path.join(staging.trash, `removed-${trashed++}`));
    changes.count++;
  }
}

/**
 * Folder modes and mtimes go last and deepest first: moving entries in changes a folder's mtime.
 * An entry without a mode (`set-mtime` of a file or symlink) gets its mtime alone, never through
 * a symlink. Blocking calls (see breather): awaited one by one, they took ~2 s for the 20,000
 * folders of the reference tree, and ~0.12 s like this.
 */
export async function applyMetadata(target: string, pending: PendingMetadata[]): Promise<void> {
  const deepestFirst = pending.map((meta) => ({ meta, depth: depthOf(meta.path) })).sort((a, b) => b.depth - a.depth);
  const breathe = breather();
  for (const { meta } of deepestFirst) {
    await breathe();
    const abs = fsPath(path.join(target, meta.path));
    const time = seconds(meta.mtime);
    if (meta.mode === undefined) {
      lutimesSync(abs, time, time);
      continue;
    }
    chmodSync(abs, meta.mode & 0o7777);
    utimesSync(abs, time, time);
  }
}

/**
 * The folders of the target that entries go into, never entered through a symlink. Each is the
 * target or an item of the plan that comes before what it holds, so one that is missing was
 * removed since planning. A folder without owner write permission is opened up for the moves and
 * given back its mode afterwards, so a read-only tree can be restored over.
 */
class TargetDirs {
  private readonly ready = new Set<string>();
  private readonly unlocked: { abs: string; mode: number }[] = [];

  constructor(private readonly root: string) {}

  ensure(relPath: string): void {
    if (this.ready.has(relPath)) return;
    if (relPath) this.ensure(parentOf(relPath));
    const abs = path.join(this.root, relPath);
    const stats = lstatOrUndefined(abs);
    if (stats?.isSymbolicLink())
      throw unsafePath(`to write into ${abs}`, 'is a symbolic link in the target', { path: abs });
    if (!stats?.isDirectory()) throw targetChanged(abs);
    if ((stats.mode & OWNER_WX) !== OWNER_WX) {
      chmodSync(fsPath(abs), (stats.mode | OWNER_WX) & 0o7777);
      this.unlocked.push({ abs, mode: stats.mode & 0o7777 });
    }
    this.ready.add(relPath);
  }

  /** Gives opened-up folders their mode back (folders from the plan get theirs right after). */
  relock(): void {
    for (const { abs, mode } of this.unlocked.reverse()) {
      try {
        chmodSync(fsPath(abs), mode);
      } catch {
        // Best effort: the folder stays writable, which loses nothing.
      }
    }
  }
}

export function targetChanged(where: string): RestoreError {
  return new RestoreError(RestoreErrorCode.TARGET_CHANGED, `${where} changed since the restore was planned.`, {
    hint: 'Something else is writing to the target: stop it, then plan and run the restore again.',
    details: { path: where },
  });
}
