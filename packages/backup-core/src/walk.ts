import { type Dirent, lstatSync, readdirSync, type Stats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { entryPathProblem, LIMITS } from '@drkit/repository';

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
  /** A folder's name count, set when it was listed while settled, so the next walk may trust the listing (see KnownNames). */
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
}

const kindOf = (d: Dirent | Stats): WalkEntry['kind'] =>
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
    const names = readdirSync(abs, { withFileTypes: true }).map((d) => ({ name: d.name, kind: kindOf(d) }));
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
export async function* walkTree(root: string, options: WalkOptions, onProblem: (p: WalkProblem) => void, known?: KnownNames): AsyncGenerator<WalkEntry> {
  yield* await walkEntries(root, options, onProblem, known);
}

/** walkTree as a plain iterator once the root is resolved: below it the walk only makes blocking calls, so no entry waits on a promise. */
export async function walkEntries(root: string, options: WalkOptions, onProblem: (p: WalkProblem) => void, known?: KnownNames): Promise<Iterable<WalkEntry>> {
  const opts = { dot: true };
  const include = picomatch(options.include?.length ? options.include : ['**'], opts);
  const exclude = options.exclude?.length ? picomatch(options.exclude, opts) : () => false;
  // The root is followed once (a source given as a link to a folder means that folder); links below it stay links.
  const realRoot = await realpath(root);
  const rootStats = await lstat(realRoot);
  if (!rootStats.isDirectory()) return [{ rel: path.basename(root), abs: realRoot, kind: kindOf(rootStats), stats: rootStats }];
  // Folders waiting to be emitted until something inside them is included.
  const pending: WalkEntry[] = [];

  // Synchronous below the root: nested async generators would cost a promise per entry per level.
  function* visit(dirAbs: string, dirRel: string, listing: Listing): Generator<WalkEntry> {
    if ('error' in listing) {
      onProblem({ rel: dirRel || '.', error: listing.error });
      return;
    }
    // dirAbs is absolute and normalized already; path.join would normalize it again for every name.
    const base = dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`;
    for (const d of listing.names) {
      const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
      const abs = base + d.name;
      if (exclude(rel) || exclude(`${rel}/`)) continue;
      // What a restore would refuse is never stored: reported (a partial backup), and nothing below it is walked.
      const tooLong = rel.length * 3 > LIMITS.pathBytes ? entryPathProblem(rel) : undefined;
      if (tooLong) {
        onProblem({ rel, error: new Error(`its path ${tooLong.why}`) });
        continue;
      }
      let kind = d.kind;
      let stats: Stats | undefined;
      if (kind !== 'file') {
        try {
          stats = lstatSync(abs);
          kind = kindOf(stats);
        } catch (error) {
          onProblem({ rel, error });
          continue;
        }
      }
      if (kind === 'dir') {
        // Listed before the folder is emitted, so its entry can carry the name count.
        const inner = listFolder(abs, rel, stats, known);
        const entry: WalkEntry = { rel, abs, kind, stats };
        if ('names' in inner && inner.settled) entry.names = inner.names.length;
        pending.push(entry);
        if (include(rel) || include(`${rel}/`)) yield* flush();
        yield* visit(abs, rel, inner);
        if (pending.at(-1) === entry) pending.pop();
      } else if (include(rel)) {
        yield* flush();
        yield { rel, abs, kind, stats };
      }
    }
  }

  function* flush(): Generator<WalkEntry> {
    yield* pending;
    pending.length = 0;
  }

  return visit(realRoot, '', listFolder(realRoot, '', undefined, undefined));
}
