import { type Dirent, lstatSync, readdirSync, type Stats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { decodeName, entryPathProblem, fsPath, globMatcher, LIMITS } from '@drkit/repository';
import { BackupError, BackupErrorCode } from './errors.js';

export interface WalkOptions {
  include?: string[];
  exclude?: string[];
}

export interface WalkEntry {
  /** Path relative to the root, `/`-separated; for a root that is a file, its base name. */
  rel: string;
  abs: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  /** lstat of dirs and symlinks; files are stat'ed through their open handle instead. */
  stats?: Stats;
  /**
   * A folder's name count, set when it was listed while settled,
   * so the next walk may trust the listing (see KnownNames).
   */
  names?: number;
}

/** A name in a folder as the last backup listed it. */
export interface KnownName {
  name: string;
  kind: WalkEntry['kind'];
}

/**
 * The names a folder held at the last backup, when its lstat shows it has not changed since
 * (same mtime, ctime and inode): the walk then skips that folder's readdir.
 */
export type KnownNames = (rel: string, stats: Stats) => readonly KnownName[] | undefined;

export interface WalkProblem {
  rel: string;
  error: unknown;
  /**
   * True when the entry itself was left out (it could not be
   * lstat'ed); false when a folder's names could not be listed.
   */
  skipped: boolean;
}

/**
 * What became of every name the walk looked at, so a backup can prove it lost none: each one is
 * written, left out by the globs, or reported (see runBackup).
 */
export interface EntryTally {
  /** Names listed (by readdir, or from the last backup for an unchanged folder); 1 for a source that is one file. */
  seen: number;
  /** Names the include/exclude globs left out (a folder only when nothing inside it was included either). */
  left: number;
  /** Entries reported as not backed up (unreadable, vanished, special files); counted by the backup, not the walk. */
  skipped: number;
}

/**
 * The backup's invariant: every name the walk saw was written, left out by the globs, or
 * reported. Anything else is lost without a word, so the backup fails instead of committing.
 */
export function checkAccounted(source: string, tally: EntryTally, written: number): void {
  const lost = tally.seen - tally.left - tally.skipped - written;
  if (lost === 0) return;
  throw new BackupError(
    BackupErrorCode.ENTRIES_LOST,
    `Source "${source}": the walk saw ${tally.seen} entries, but ${written} were written, ${tally.left} ` +
      `left out by include/exclude and ${tally.skipped} reported as not backed up ` +
      `(${lost > 0 ? `${lost} missing` : `${-lost} too many`}); nothing was committed.`,
    {
      hint: 'This is a bug in drkit: please report it with this message. Earlier snapshots are untouched.',
      details: { source, ...tally, written },
    },
  );
}

const kindOf = (d: Pick<Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): WalkEntry['kind'] =>
  d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'other';

/**
 * A folder whose mtime and ctime are this far in the past when it is listed cannot change within
 * the same timestamp tick after the listing, so an unchanged mtime and ctime later prove unchanged names.
 */
const SETTLED_MS = 2000;

type Listing = { names: readonly KnownName[]; settled: boolean } | { error: unknown };

/** A folder's names, sorted: from the last backup when it is unchanged, else from readdir. */
function listFolder(abs: string, rel: string, stats: Stats | undefined, known: KnownNames | undefined): Listing {
  const cached = stats && known?.(rel, stats);
  if (cached) return { names: cached, settled: true };
  try {
    // Blocking calls: on a cached tree they cost far less than an async round trip each.
    const listed = readdirSync(fsPath(abs), { withFileTypes: true });
    // Node decodes names as UTF-8 with U+FFFD for bad bytes: such a folder is listed again as bytes.
    const names = listed.some((d) => d.name.includes('\uFFFD'))
      ? readdirSync(fsPath(abs), { withFileTypes: true, encoding: 'buffer' }).map((d) => ({
          name: decodeName(d.name),
          kind: kindOf(d),
        }))
      : listed.map((d) => ({ name: d.name, kind: kindOf(d) }));
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const settled = stats !== undefined && Date.now() - Math.max(stats.mtimeMs, stats.ctimeMs) > SETTLED_MS;
    return { names, settled };
  } catch (error) {
    return { error };
  }
}

/**
 * Walks a tree in sorted order without following symlinks below the root. Excluded folders are
 * not entered; a folder is emitted when it matches `include` or before the first included entry
 * inside it, so empty folders are kept whenever the include patterns cover them.
 */
export async function* walkTree(
  root: string,
  options: WalkOptions,
  onProblem: (p: WalkProblem) => void,
  known?: KnownNames,
  tally?: EntryTally,
): AsyncGenerator<WalkEntry> {
  yield* await walkEntries(root, options, onProblem, known, tally);
}

/**
 * walkTree as a plain iterator once the root is resolved: below it the walk only makes blocking calls, so no entry
 * waits on a promise.
 */
export async function walkEntries(
  root: string,
  options: WalkOptions,
  onProblem: (p: WalkProblem) => void,
  known?: KnownNames,
  tally: EntryTally = { seen: 0, left: 0, skipped: 0 },
): Promise<Iterable<WalkEntry>> {
  // Without include globs everything is included: no glob is asked, so none can drop a name.
  const include = options.include?.length ? globMatcher(options.include) : undefined;
  const exclude = options.exclude?.length ? globMatcher(options.exclude) : () => false;
  // The root is followed once (a source given as a link to a folder means that folder); links below it stay links.
  const realRoot = await realpath(root);
  const rootStats = await lstat(realRoot);
  if (!rootStats.isDirectory()) {
    tally.seen++;
    return [{ rel: path.basename(root), abs: realRoot, kind: kindOf(rootStats), stats: rootStats }];
  }
  // Folders waiting to be emitted until something inside them is included.
  const pending: WalkEntry[] = [];

  // Synchronous below the root: nested async generators would cost a promise per entry per level.
  function* visit(dirAbs: string, dirRel: string, listing: Listing): Generator<WalkEntry> {
    if ('error' in listing) {
      onProblem({ rel: dirRel || '.', error: listing.error, skipped: false });
      return;
    }
    // dirAbs is absolute and normalized already; path.join would normalize it again for every name.
    const base = dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`;
    for (const d of listing.names) {
      const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
      const abs = base + d.name;
      tally.seen++;
      if (exclude(rel) || exclude(`${rel}/`)) {
        tally.left++;
        continue;
      }
      // What a restore would refuse is never stored: reported (a partial backup), and nothing below it is walked.
      const tooLong = rel.length * 3 > LIMITS.pathBytes ? entryPathProblem(rel) : undefined;
      if (tooLong) {
        onProblem({ rel, error: new Error(`its path ${tooLong.why}`), skipped: true });
        continue;
      }
      let kind = d.kind;
      let stats: Stats | undefined;
      if (kind !== 'file') {
        try {
          stats = lstatSync(fsPath(abs));
          kind = kindOf(stats);
        } catch (error) {
          onProblem({ rel, error, skipped: true });
          continue;
        }
      }
      if (kind === 'dir') {
        // Listed before the folder is emitted, so its entry can carry the name count.
        const inner = listFolder(abs, rel, stats, known);
        const entry: WalkEntry = { rel, abs, kind, stats };
        if ('names' in inner && inner.settled) entry.names = inner.names.length;
        pending.push(entry);
        if (!include || include(rel) || include(`${rel}/`)) yield* flush();
        yield* visit(abs, rel, inner);
        if (pending.at(-1) === entry) {
          pending.pop();
          tally.left++;
        }
      } else if (!include || include(rel)) {
        yield* flush();
        yield { rel, abs, kind, stats };
      } else tally.left++;
    }
  }

  function* flush(): Generator<WalkEntry> {
    yield* pending;
    pending.length = 0;
  }

  return visit(realRoot, '', listFolder(realRoot, '', undefined, undefined));
}
