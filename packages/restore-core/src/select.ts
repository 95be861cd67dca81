import { globMatcher, type IndexEntry } from '@drkit/repository';
import { ancestorsOf, parentOf } from './paths.js';

/**
 * The entries to restore. With include globs, an entry is chosen when it or a folder above it
 * matches (so `config` brings the whole folder), and the folders above a chosen entry come
 * too, so that their modes and mtimes are restored.
 */
export function selectEntries(index: Map<string, IndexEntry>, include: string[] | undefined): IndexEntry[] {
  if (!include || include.length === 0) return [...index.values()];
  const matches = globMatcher(include);
  const memo = new Map<string, boolean>();
  const chosenByGlob = (path: string): boolean => {
    let hit = memo.get(path);
    if (hit === undefined) {
      const parent = parentOf(path);
      hit = matches(path) || (parent !== '' && chosenByGlob(parent));
      memo.set(path, hit);
    }
    return hit;
  };
  const chosen = new Set<string>();
  for (const path of index.keys()) {
    if (!chosenByGlob(path)) continue;
    chosen.add(path);
    for (const above of ancestorsOf(path)) chosen.add(above);
  }
  return [...index.values()].filter((e) => chosen.has(e.path));
}
