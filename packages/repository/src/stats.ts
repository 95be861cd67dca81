import type { SnapshotMeta } from './format.js';
import type { Repository } from './repository.js';

const DAY_MS = 86_400_000;

export interface SizeCount {
  snapshots: number;
  /** Bytes stored for them: archives and entry indexes, compressed (and encrypted). */
  stored: number;
  /** Bytes they hold, as files and Redis values (an incremental's unchanged files included). */
  bytes: number;
}

export interface RepoStats {
  location: string;
  /** Every blob under data/, as the store lists it. */
  data: { blobs: number; bytes: number };
  snapshots: number;
  oldest?: string;
  newest?: string;
  bySource: Record<string, SizeCount>;
  byKind: { full: SizeCount; incremental: SizeCount };
  /** Snapshots per full backup: its incrementals and itself. */
  chains: { count: number; longest: number; lengths: Array<{ base: string; length: number }> };
  /**
   * Stored bytes the snapshots of the window added, per day: over the window, or since the oldest snapshot when that is
   * later (at least a day).
   */
  growth: { windowDays: number; days: number; storedPerDay: number };
  /** What `forget --prune` would delete now: data no listed snapshot needs. */
  prunable: { snapshots: number; blobs: number; bytes: number };
}

/** Sizes, chains and growth of a repository, read from its listing and metadata; changes nothing. */
export async function repositoryStats(repo: Repository, options: { now: Date; windowMs?: number }): Promise<RepoStats> {
  const snaps = await repo.listSnapshots();
  const data = { blobs: 0, bytes: 0 };
  for await (const b of repo.store.list('data/')) {
    data.blobs++;
    data.bytes += b.size;
  }
  const empty = (): SizeCount => ({ snapshots: 0, stored: 0, bytes: 0 });
  const bySource: Record<string, SizeCount> = {};
  const byKind = { full: empty(), incremental: empty() };
  const chainLength = new Map<string, number>();
  const windowMs = options.windowMs ?? 30 * DAY_MS;
  const since = options.now.getTime() - windowMs;
  let addedInWindow = 0;
  for (const s of snaps) {
    const stored = storedBytes(s);
    const bytes = s.sources.reduce((n, x) => n + x.stats.bytes, 0);
    add(byKind[s.kind], stored, bytes);
    for (const x of s.sources) {
      bySource[x.name] ??= empty();
      add(bySource[x.name]!, x.archive.size + (x.index?.size ?? 0), x.stats.bytes);
    }
    const base = s.kind === 'full' ? s.id : (s.base ?? s.id);
    chainLength.set(base, (chainLength.get(base) ?? 0) + 1);
    if (Date.parse(s.time) >= since) addedInWindow += stored;
  }
  const from = Math.max(since, snaps.length ? Date.parse(snaps[0]!.time) : since);
  const days = Math.max(1, Math.round(((options.now.getTime() - from) / DAY_MS) * 10) / 10);
  const lengths = [...chainLength].map(([base, length]) => ({ base, length }));
  const pruned = await repo.pruneData({ dryRun: true, now: options.now });
  return {
    location: repo.store.location,
    data,
    snapshots: snaps.length,
    ...(snaps.length ? { oldest: snaps[0]!.time, newest: snaps.at(-1)!.time } : {}),
    bySource,
    byKind,
    chains: { count: lengths.length, longest: Math.max(0, ...lengths.map((c) => c.length)), lengths },
    growth: { windowDays: windowMs / DAY_MS, days, storedPerDay: Math.round(addedInWindow / days) },
    prunable: { snapshots: pruned.snapshots.length, blobs: pruned.blobs, bytes: pruned.bytes },
  };
}

function storedBytes(s: SnapshotMeta): number {
  return s.sources.reduce((n, x) => n + x.archive.size + (x.index?.size ?? 0), 0);
}

function add(into: SizeCount, stored: number, bytes: number): void {
  into.snapshots++;
  into.stored += stored;
  into.bytes += bytes;
}
