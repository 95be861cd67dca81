import { normaliseEntryPath } from '@drkit/repository';
import { unsafePath } from './errors.js';

/** `a/b/c` → `['a', 'a/b']`: the folders an entry lives in, outermost first. */
export function ancestorsOf(relPath: string): string[] {
  const parts = relPath.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export function parentOf(relPath: string): string {
  const cut = relPath.lastIndexOf('/');
  return cut < 0 ? '' : relPath.slice(0, cut);
}

/** `''` (the target itself) is depth 0, so it comes after everything below it. */
export function depthOf(relPath: string): number {
  if (!relPath) return 0;
  let depth = 1;
  for (let i = relPath.indexOf('/'); i !== -1; i = relPath.indexOf('/', i + 1)) depth++;
  return depth;
}

/** The normalised entry path, or an UNSAFE_PATH error naming the entry and the source. */
export function safeEntryPath(name: string, source: string, where: 'index' | 'archive'): string {
  const result = normaliseEntryPath(name);
  if ('unsafe' in result) throw unsafePath(`${where} entry ${JSON.stringify(name)} of source "${source}"`, result.unsafe, { source, entry: name });
  return result.path;
}

/** Where an entry of a source lands, relative to the target (`''`: the source's own folder). */
export function targetPathOf(sourceDir: string, entryPath: string): string {
  return sourceDir && entryPath ? `${sourceDir}/${entryPath}` : sourceDir || entryPath;
}

/** The inverse of targetPathOf: the path inside its source of a target-relative path. */
export function entryPathOf(sourceDir: string, relPath: string): string {
  return sourceDir ? relPath.slice(sourceDir.length + 1) : relPath;
}
