import { normaliseEntryPath } from '@drkit/repository';
import { corruptEntry, unsafePath } from './errors.js';

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

/**
 * An archive entry's normalised path; UNSAFE_PATH when the name
 * could escape the target, CORRUPT when no file system holds it.
 */
export function safeEntryPath(name: string, source: string): string {
  const result = normaliseEntryPath(name);
  if ('path' in result) return result.path;
  if (result.escapes)
    throw unsafePath(`archive entry ${JSON.stringify(name)} of source "${source}"`, result.unsafe, {
      source,
      entry: name,
    });
  throw corruptEntry(source, name, result.unsafe);
}

/** Where an entry of a source lands, relative to the target (`''`: the source's own folder). */
export function targetPathOf(sourceDir: string, entryPath: string): string {
  return sourceDir && entryPath ? `${sourceDir}/${entryPath}` : sourceDir || entryPath;
}

/** The inverse of targetPathOf: the path inside its source of a target-relative path. */
export function entryPathOf(sourceDir: string, relPath: string): string {
  return sourceDir ? relPath.slice(sourceDir.length + 1) : relPath;
}
