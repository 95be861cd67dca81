import { readdirSync } from 'node:fs';
import path from 'node:path';
import { decodeName, fsPath, type IndexEntry, type Repository } from '@drkit/repository';
import { decideAction, type Wanted } from './decide-action.js';
import { loadIndex } from './entry-index.js';
import { asRestoreError, RestoreError, RestoreErrorCode, unsafePath } from './errors.js';
import { layoutSources } from './layout.js';
import {
  addToCounts,
  countsFor,
  emptyCounts,
  OVERWRITE_POLICIES,
  type OverwritePolicy,
  parseOrThrow,
  type PlanItem,
  type RestoreOptions,
  type RestorePlan,
  restoreOptionsSchema,
} from './plan-model.js';
import { parentOf, targetPathOf } from './paths.js';
import { ExistingTree, inspectTarget } from './target-state.js';
import { breather } from './waits.js';
import { Salvage, withSalvageHint } from './salvage.js';
import { selectEntries } from './select.js';

const CONFLICTS_SHOWN = 10;

interface Selected {
  source: string;
  path: string;
  entry: Wanted;
}

/** Works out what a restore would do, reading only the snapshot's indexes and the target; writes nothing. */
export async function planRestore(repo: Repository, options: RestoreOptions): Promise<RestorePlan> {
  const opts = parseOrThrow(
    restoreOptionsSchema,
    options,
    'restore options',
    `Overwrite must be one of ${OVERWRITE_POLICIES.join(', ')}; snapshot and target must be given.`,
  );
  const target = path.resolve(opts.target);
  try {
    const snapshot = await repo.resolveSnapshot(opts.snapshot);
    const { layouts, notRestored } = layoutSources(repo, snapshot, opts.sources);
    const targetState = await inspectTarget(target);
    if (targetState === 'non-empty' && !opts.overwrite) throw targetNotEmpty(target);
    if (opts.delete && opts.include?.length)
      throw new RestoreError(
        RestoreErrorCode.BAD_OPTIONS,
        '--delete cannot be combined with --include: everything the include globs leave out would be removed.',
        {
          hint:
            'Restore the whole snapshot (or whole sources with --source) with --delete, or restore selected ' +
            'paths without it.',
        },
      );
    const selected: Selected[] = [];
    for (const layout of layouts) {
      const source = repo.source(snapshot, layout.name);
      const index = await loadIndex(repo, source, opts.salvage ? new Salvage() : undefined);
      const entries = selectEntries(index, opts.include);
      // A source none of whose entries is selected gets no folder either.
      if (entries.length === 0 && opts.include?.length) continue;
      const folder = (entryPath: string, meta?: { mode: number; mtime: number }) =>
        selected.push({
          source: layout.name,
          path: targetPathOf(layout.dir, entryPath),
          entry: { type: 'dir', ...meta },
        });
      folder('', source.root);
      for (const entryPath of unlistedFolders(index, entries)) folder(entryPath);
      for (const entry of entries)
        selected.push({ source: layout.name, path: targetPathOf(layout.dir, entry.path), entry });
    }
    if (opts.include?.length && selected.length === 0)
      throw new RestoreError(
        RestoreErrorCode.NOTHING_SELECTED,
        `No entry of snapshot ${snapshot.id} matches ${opts.include.map((g) => JSON.stringify(g)).join(', ')}.`,
        {
          hint:
            'Globs match the path inside its source, e.g. `app/*.yaml` or `**/*.jsonl`; a folder name brings ' +
            'everything under it.',
        },
      );
    // Folders before what they hold, so a replaced folder is known before its contents are decided.
    selected.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    // An empty target restored without a policy takes the snapshot's root mode and mtime, as a new one would.
    const rootPolicy = targetState === 'empty' && !opts.overwrite ? 'if-changed' : opts.overwrite;
    const items = await decideAll(selected, new ExistingTree(target, targetState), target, opts.overwrite, rootPolicy);
    const plan: RestorePlan = {
      snapshot: snapshot.id,
      target,
      targetState,
      ...(opts.overwrite ? { overwrite: opts.overwrite } : {}),
      ...(opts.include?.length ? { include: opts.include } : {}),
      ...(opts.salvage ? { salvage: true as const } : {}),
      sources: layouts,
      ...(notRestored.length ? { notRestored } : {}),
      items,
      ...(opts.delete && targetState === 'non-empty' ? { remove: absentFromSnapshot(target, items) } : {}),
      totals: emptyCounts(),
      toWrite: emptyCounts(),
      mtimeOnly: emptyCounts(),
      skipped: emptyCounts(),
    };
    for (const item of items) {
      addToCounts(plan.totals, item);
      addToCounts(countsFor(plan, item.action), item);
    }
    return plan;
  } catch (cause) {
    const error = asRestoreError(cause, `plan the restore into ${target}`);
    throw opts.salvage ? error : withSalvageHint(error);
  }
}

/**
 * What the target holds that the plan does not: walked from the target down through the folders
 * the snapshot also has, never through a symlink; a folder the snapshot lacks is one entry.
 */
function absentFromSnapshot(target: string, items: PlanItem[]): NonNullable<RestorePlan['remove']> {
  const planned = new Map(items.map((i) => [i.path, i.type]));
  const found: NonNullable<RestorePlan['remove']> = [];
  const visit = (dir: string) => {
    for (const child of readdirSync(fsPath(path.join(target, dir)), { withFileTypes: true, encoding: 'buffer' })) {
      const rel = dir ? `${dir}/${decodeName(child.name)}` : decodeName(child.name);
      const type = child.isDirectory() ? 'dir' : child.isSymbolicLink() ? 'symlink' : child.isFile() ? 'file' : 'other';
      const wanted = planned.get(rel);
      if (wanted === undefined) found.push({ path: rel, type });
      else if (wanted === 'dir' && type === 'dir') visit(rel);
    }
  };
  visit('');
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Folders above selected entries that the index does not list (an archive not written by drkit may leave them out). */
function unlistedFolders(index: Map<string, IndexEntry>, entries: IndexEntry[]): Set<string> {
  const found = new Set<string>();
  for (const { path: entryPath } of entries)
    for (let above = parentOf(entryPath); above && !index.has(above) && !found.has(above); above = parentOf(above))
      found.add(above);
  return found;
}

async function decideAll(
  selected: Selected[],
  existing: ExistingTree,
  target: string,
  policy: OverwritePolicy | undefined,
  rootPolicy: OverwritePolicy | undefined,
): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
  const conflicts: string[] = [];
  // Paths whose current occupant (not a folder) will be moved aside for a folder from the snapshot.
  const clearedForDirs = new Set<string>();
  // Reported once: what lies below a conflicting path is not listed again.
  const conflicted = new Set<string>();
  const breathe = breather();
  for (const { source, path: rel, entry } of selected) {
    await breathe();
    const found = existing.at(rel);
    const abs = found.kind === 'missing' ? '' : path.join(target, rel); // only messages and comparisons need it
    let action: PlanItem['action'];
    let reason: string | undefined;
    if (found.kind === 'blocked') {
      if (!clearedForDirs.has(found.by)) {
        if (conflicted.has(found.by)) continue;
        const blocker = path.join(target, found.by);
        if (found.byKind === 'symlink')
          throw unsafePath(`to restore ${abs}`, `lies below the symbolic link ${blocker} in the target`, {
            path: abs,
            symlink: blocker,
          });
        conflicts.push(`${blocker} is a ${found.byKind} where the snapshot needs a folder`);
        conflicted.add(found.by);
        continue;
      }
      action = 'create';
    } else {
      const decision = await decideAction(entry, found, abs, rel === '' ? rootPolicy : policy);
      if ('conflict' in decision) {
        conflicts.push(decision.conflict);
        conflicted.add(rel);
        continue;
      }
      action = decision.action;
      reason = decision.reason;
      if (action === 'replace' && entry.type === 'dir' && found.kind !== 'dir') clearedForDirs.add(rel);
    }
    items.push({ source, path: rel, type: entry.type, size: entry.size ?? 0, action, ...(reason ? { reason } : {}) });
  }
  if (conflicts.length > 0) throw conflictError(target, conflicts);
  return items;
}

function targetNotEmpty(target: string): RestoreError {
  return new RestoreError(
    RestoreErrorCode.TARGET_NOT_EMPTY,
    `The restore target ${target} is not empty; refusing to mix the snapshot into existing files.`,
    {
      hint:
        'Choose an empty or new folder, or pass --overwrite never (keep existing files), if-changed (replace ' +
        'files that differ) or always (replace everything).',
      details: { target },
    },
  );
}

function conflictError(target: string, conflicts: string[]): RestoreError {
  const shown = conflicts.slice(0, CONFLICTS_SHOWN).join('; ');
  const more = conflicts.length > CONFLICTS_SHOWN ? `; and ${conflicts.length - CONFLICTS_SHOWN} more` : '';
  return new RestoreError(
    RestoreErrorCode.CONFLICT,
    `${conflicts.length} path(s) in ${target} have a different type than in the snapshot: ${shown}${more}.`,
    {
      hint: 'Move those paths away, restore into another folder, or pass --overwrite always to replace them.',
      details: { target, conflicts: conflicts.slice(0, 100), count: conflicts.length },
    },
  );
}
