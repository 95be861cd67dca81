import type { IndexEntry, Repository, SnapshotMeta } from '@drkit/repository';

export interface DiffEntry {
  source: string;
  path: string;
  type: IndexEntry['type'];
  size: number;
}

export interface ChangedEntry extends DiffEntry {
  /** The size in the older snapshot. */
  sizeBefore: number;
  /** What differs: content, type, mode, link target. */
  what: string[];
}

export interface SnapshotDiff {
  from: string;
  to: string;
  added: DiffEntry[];
  removed: DiffEntry[];
  changed: ChangedEntry[];
}

/** What changed between two snapshots, by comparing their entry indexes (no archive is read). */
export async function diffSnapshots(repo: Repository, from: SnapshotMeta, to: SnapshotMeta): Promise<SnapshotDiff> {
  const diff: SnapshotDiff = { from: from.id, to: to.id, added: [], removed: [], changed: [] };
  const names = [...new Set([...from.sources, ...to.sources].filter((s) => s.index).map((s) => s.name))].sort();
  for (const name of names) {
    const before = new Map<string, IndexEntry>();
    const old = from.sources.find((s) => s.name === name);
    if (old?.index) for await (const e of repo.readIndex(old)) before.set(e.path, e);
    const now = to.sources.find((s) => s.name === name);
    if (now?.index)
      for await (const e of repo.readIndex(now)) {
        const prev = before.get(e.path);
        before.delete(e.path);
        const entry = { source: name, path: e.path, type: e.type, size: e.size ?? 0 };
        if (!prev) diff.added.push(entry);
        else {
          const what = differences(prev, e);
          if (what.length) diff.changed.push({ ...entry, sizeBefore: prev.size ?? 0, what });
        }
      }
    for (const e of before.values()) diff.removed.push({ source: name, path: e.path, type: e.type, size: e.size ?? 0 });
  }
  return diff;
}

function differences(a: IndexEntry, b: IndexEntry): string[] {
  const what: string[] = [];
  if (a.type !== b.type) what.push('type');
  else if (a.sha256 !== b.sha256 || a.size !== b.size) what.push('content');
  if (a.mode !== b.mode) what.push('mode');
  if (a.linkTarget !== b.linkTarget) what.push('link target');
  return what;
}
