import { hostname } from 'node:os';
import type { BlobStore, TempFile } from '@drkit/storage';
import { DEFAULT_STALE_MS, ownerGone, readLocks, staleReason } from './lock.js';

/** What interrupted writers left in a local repository and a cleanup removed. */
export interface Leftovers {
  /** Temp files (`.tmp/*.part`) of puts whose writer is gone. */
  tempFiles: TempFile[];
  /** Empty `data/<id>/` folders, left by a delete cut short between a file and its folder. */
  emptyFolders: string[];
}

/**
 * Removes the temp files whose writer is gone: a process of this host that no longer runs, or,
 * for a writer elsewhere, once untouched for longer than a lock lives unrefreshed (the stale-lock
 * window) while that writer holds no live lock. A temp file of a live writer is never removed.
 * Then the empty folders under data/ (a put that finds its folder gone makes it again).
 */
export async function removeLeftovers(
  store: BlobStore,
  options: { now?: Date; staleAfterMs?: number } = {},
): Promise<Leftovers> {
  const now = (options.now ?? new Date()).getTime();
  const window = options.staleAfterMs ?? DEFAULT_STALE_MS;
  const live = (await readLocks(store)).filter((l) => !staleReason(l, new Date(now), window));
  const others = live.filter((l) => !(l.host === hostname() && l.pid === process.pid));
  const isGarbage = (f: TempFile) => {
    // On this host the writer's pid answers for itself: alive, its file stays, however old.
    if (f.owner?.host === hostname()) return ownerGone(f.owner);
    if (now - f.mtimeMs <= window) return false;
    // A name without its writer (an older drkit) can belong to any holder.
    return f.owner ? !live.some((l) => l.host === f.owner!.host && l.pid === f.owner!.pid) : others.length === 0;
  };
  const tempFiles = (await store.cleanupTemp?.(isGarbage)) ?? [];
  const emptyFolders = (await store.removeEmptyFolders?.('data/')) ?? [];
  return { tempFiles, emptyFolders };
}

/** One line for people: what a cleanup removed, or undefined when nothing. */
export function describeLeftovers(l: Leftovers): string | undefined {
  const parts: string[] = [];
  if (l.tempFiles.length) {
    const bytes = l.tempFiles.reduce((n, f) => n + f.size, 0);
    const writers = [
      ...new Set(l.tempFiles.map((f) => (f.owner ? `pid ${f.owner.pid} on ${f.owner.host}` : 'an unknown writer'))),
    ];
    parts.push(
      `${l.tempFiles.length} temporary file(s) of interrupted writes (${(bytes / 2 ** 20).toFixed(1)} ` +
        `MiB; ${writers.join(', ')})`,
    );
  }
  if (l.emptyFolders.length) parts.push(`${l.emptyFolders.length} empty data folder(s) (${l.emptyFolders.join(', ')})`);
  return parts.length ? `removed ${parts.join(' and ')}` : undefined;
}
