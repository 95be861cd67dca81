import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { access, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { IndexEntry } from '@drkit/repository';

export { defaultCacheDir } from '@drkit/repository';

/** Snapshots per repository whose file lists are kept, newest first; a parent is always one of them. */
const KEEP = 3;
/** An unfinished recording older than this belongs to a backup that died. */
const ABANDONED_MS = 24 * 3600_000;
const FLUSH_AT = 1 << 16;

/**
 * The backup host's own copy of its file sources' entry indexes: paths, sizes, times and hashes,
 * never file content. On an encrypted repository the index can only be read with the identity,
 * which a backup host should not hold; with this copy it still recognises unchanged files and
 * makes incrementals. It only ever saves work: a missing copy means a full backup.
 */
export class ChangeCache {
  private readonly base: string;

  constructor(dir: string, repoId: string) {
    this.base = path.join(dir, repoId);
  }

  /** Whether this host recorded every one of `sources` for that snapshot. */
  async has(snapshotId: string, sources: readonly string[]): Promise<boolean> {
    const found = await Promise.all(
      sources.map((s) =>
        access(listFile(path.join(this.base, snapshotId), s), constants.R_OK).then(
          () => true,
          () => false,
        ),
      ),
    );
    return found.every(Boolean);
  }

  /**
   * The entries recorded for one source of a snapshot, as the repository's index has them.
   * Throws on a damaged list; the caller then reads every file (see runBackup).
   */
  async *read(snapshotId: string, source: string): AsyncGenerator<IndexEntry> {
    const input = createReadStream(listFile(path.join(this.base, snapshotId), source));
    try {
      for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!line) continue;
        const entry = JSON.parse(line) as IndexEntry;
        if (typeof entry?.path !== 'string' || !recorded(entry)) throw new Error(`unexpected line in ${input.path}`);
        yield entry;
      }
    } finally {
      input.destroy();
    }
  }

  /** Starts recording a snapshot's file lists; nothing is read from it before `commit`. */
  record(snapshotId: string): CacheRecording {
    return new CacheRecording(this.base, snapshotId);
  }
}

/** One snapshot's file lists being written; any failure only disables the recording, never the backup. */
export class CacheRecording {
  private readonly tmp: string;
  private readonly lists: Array<{ fd: number; pending: string }> = [];
  private failure: unknown;

  constructor(
    private readonly base: string,
    private readonly snapshotId: string,
  ) {
    this.tmp = path.join(base, `.tmp-${snapshotId}-${process.pid}`);
  }

  /** The callback that records one source's entries (their metadata, never content). */
  source(name: string): (entry: IndexEntry) => void {
    const list = this.attempt(() => {
      // Owner-only: the lists name every file and its hash.
      mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
      const l = { fd: openSync(listFile(this.tmp, name), 'wx', 0o600), pending: '' };
      this.lists.push(l);
      return l;
    });
    return (entry) => {
      if (!list || this.failure !== undefined) return;
      list.pending += `${JSON.stringify(entry)}\n`;
      if (list.pending.length >= FLUSH_AT) this.attempt(() => flush(list));
    };
  }

  /** After the snapshot is committed: makes the lists visible and forgets older ones. Returns a note on failure. */
  async commit(): Promise<string | undefined> {
    // Flushed and synced before the rename, so a crash never leaves a complete-looking, cut-off list.
    for (const l of this.lists)
      this.attempt(() => {
        flush(l);
        fsyncSync(l.fd);
      });
    this.close();
    if (this.failure === undefined)
      await rename(this.tmp, path.join(this.base, this.snapshotId)).catch((error) => {
        this.failure = error;
      });
    await this.forgetOld().catch(() => {});
    if (this.failure === undefined) return undefined;
    await rm(this.tmp, { recursive: true, force: true }).catch(() => {});
    return (
      `could not keep this snapshot's file list in the cache (` +
      `${(this.failure as Error)?.message ?? this.failure}); the next backup of an encrypted repository ` +
      `without the identity will be a full one`
    );
  }

  /** The snapshot was not committed: its lists go too. */
  async abort(): Promise<void> {
    this.close();
    await rm(this.tmp, { recursive: true, force: true }).catch(() => {});
  }

  /** Keeps the newest KEEP snapshots of each source set (a host may run several backup jobs). */
  private async forgetOld(): Promise<void> {
    const names = (await readdir(this.base)).sort();
    const bySet = new Map<string, string[]>();
    for (const n of names.filter((x) => !x.startsWith('.tmp-'))) {
      const set = (await readdir(path.join(this.base, n)).catch(() => [])).sort().join('/');
      bySet.set(set, [...(bySet.get(set) ?? []), n]);
    }
    const old = [...bySet.values()].flatMap((ids) => ids.slice(0, Math.max(0, ids.length - KEEP)));
    const now = Date.now();
    for (const n of names.filter((x) => x.startsWith('.tmp-')))
      if (now - (await stat(path.join(this.base, n))).mtimeMs > ABANDONED_MS) old.push(n);
    await Promise.all(old.map((n) => rm(path.join(this.base, n), { recursive: true, force: true })));
  }

  /** Closes every list whatever failed before (attempt() would skip them after a failure). */
  private close(): void {
    for (const l of this.lists.splice(0))
      try {
        closeSync(l.fd);
      } catch (error) {
        this.failure ??= error;
      }
  }

  private attempt<T>(f: () => T): T | undefined {
    if (this.failure !== undefined) return undefined;
    try {
      return f();
    } catch (error) {
      this.failure = error;
      return undefined;
    }
  }
}

/** Files with their hash, and folders and links (whose names let an unchanged folder go unlisted). */
function recorded(entry: IndexEntry): boolean {
  return entry.type === 'file' ? typeof entry.sha256 === 'string' : entry.type === 'dir' || entry.type === 'symlink';
}

/** Named by a hash of the source name: any name fits in a file name. */
function listFile(folder: string, source: string): string {
  return path.join(folder, `${createHash('sha256').update(source).digest('hex').slice(0, 32)}.jsonl`);
}

function flush(list: { fd: number; pending: string }): void {
  // Blocking, in 64 KiB batches: simple, and memory stays flat without waiting for drains.
  const bytes = Buffer.from(list.pending);
  list.pending = '';
  for (let off = 0; off < bytes.length; ) off += writeSync(list.fd, bytes, off);
}
