import type { Repository, SnapshotFilter, SnapshotMeta } from '@drkit/repository';
import { BackupError, BackupErrorCode } from './errors.js';
import type { RetentionDecision } from './retention/index.js';

/** What a snapshot needs to be restored: its parent, its full base, and the holders of its unchanged files. */
function needs(s: SnapshotMeta): string[] {
  return [s.parent, s.base, ...s.sources.flatMap((x) => x.holders)].filter(
    (id): id is string => id !== undefined && id !== s.id,
  );
}

/**
 * The snapshots `refs` name (ids, prefixes, latest) and, with `withDependents`, every snapshot
 * that needs one of them, transitively; as decisions to remove. Without it, a named snapshot that
 * a snapshot left standing needs is refused, naming those dependents, so no forget by id leaves
 * an incremental unrestorable.
 */
export async function planForgetIds(
  repo: Repository,
  refs: readonly string[],
  options: { withDependents?: boolean; filter?: SnapshotFilter },
): Promise<RetentionDecision[]> {
  const named = new Set<string>();
  for (const ref of refs) named.add((await repo.resolveSnapshot(ref, { filter: options.filter })).id);
  const all = await repo.listSnapshots();
  const dependents = new Map<string, SnapshotMeta[]>();
  for (const s of all) for (const id of needs(s)) dependents.set(id, [...(dependents.get(id) ?? []), s]);
  // Every snapshot that needs a named one, directly or through another, and the named one it leads to.
  const reachedFrom = new Map<string, string>();
  const pending = [...named];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    for (const d of dependents.get(id) ?? []) {
      if (named.has(d.id) || reachedFrom.has(d.id)) continue;
      reachedFrom.set(d.id, id);
      pending.push(d.id);
    }
  }
  if (reachedFrom.size && !options.withDependents) {
    const list = [...reachedFrom.keys()].sort();
    throw new BackupError(
      BackupErrorCode.FORGET_HAS_DEPENDENTS,
      `${[...named].sort().join(', ')} ${named.size > 1 ? 'are' : 'is'} needed by ${list.length} later ` +
        `snapshot(s) that would no longer restore: ${list.join(', ')}. Nothing was removed.`,
      {
        hint: `Forget them too: drkit forget ${refs.join(' ')} --with-dependents (or name them as well).`,
        details: { dependents: list },
      },
    );
  }
  const time = new Map(all.map((s) => [s.id, s.time]));
  return [
    ...[...named].map((id) => ({ id, time: time.get(id) ?? '', keep: false, reasons: ['named'] })),
    ...[...reachedFrom].map(([id, via]) => ({ id, time: time.get(id) ?? '', keep: false, reasons: [`needs ${via}`] })),
  ];
}
