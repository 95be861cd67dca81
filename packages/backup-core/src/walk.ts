import { type Dirent, lstatSync, readdirSync, type Stats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

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
}

export interface WalkProblem {
  rel: string;
  error: unknown;
}

const kindOf = (d: Dirent | Stats): WalkEntry['kind'] =>
  d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'other';

/**
 * Walks a tree in sorted order without following symlinks below the root. Excluded folders are
 * not entered; a folder is emitted when it matches `include` or before the first included entry
 * inside it, so empty folders are kept whenever the include patterns cover them.
 */
export async function* walkTree(root: string, options: WalkOptions, onProblem: (p: WalkProblem) => void): AsyncGenerator<WalkEntry> {
  const opts = { dot: true };
  const include = picomatch(options.include?.length ? options.include : ['**'], opts);
  const exclude = options.exclude?.length ? picomatch(options.exclude, opts) : () => false;
  // The root is followed once (a source given as a link to a folder means that folder); links below it stay links.
  const realRoot = await realpath(root);
  const rootStats = await lstat(realRoot);
  if (!rootStats.isDirectory()) {
    yield { rel: path.basename(root), abs: realRoot, kind: kindOf(rootStats), stats: rootStats };
    return;
  }
  // Folders waiting to be emitted until something inside them is included.
  const pending: WalkEntry[] = [];

  async function* visit(dirAbs: string, dirRel: string): AsyncGenerator<WalkEntry> {
    let dirents: Dirent[];
    try {
      // Blocking calls: on a cached tree they cost far less than an async round trip each.
      dirents = readdirSync(dirAbs, { withFileTypes: true });
    } catch (error) {
      onProblem({ rel: dirRel || '.', error });
      return;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
      const abs = path.join(dirAbs, d.name);
      if (exclude(rel) || exclude(`${rel}/`)) continue;
      let kind = kindOf(d);
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
        const entry: WalkEntry = { rel, abs, kind, stats };
        pending.push(entry);
        if (include(rel) || include(`${rel}/`)) yield* flush();
        yield* visit(abs, rel);
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

  yield* visit(realRoot, '');
}
