import type { IndexEntry, Repository, SourceMeta } from '@drkit/repository';
import { corruptEntry, unsafePath } from './errors.js';
import { parentOf, safeEntryPath } from './paths.js';
import type { Salvage } from './salvage.js';

/**
 * A source's entry index keyed by normalised path. Refuses names that could escape the target
 * and entries below a symlink (writing through it could land anywhere). With `salvage`, the
 * lines outside a damaged index's damaged frames.
 */
export async function loadIndex(repo: Repository, source: SourceMeta, salvage?: Salvage): Promise<Map<string, IndexEntry>> {
  const index = new Map<string, IndexEntry>();
  for await (const entry of salvage ? salvage.readIndex(repo, source) : repo.readIndex(source)) {
    const path = safeEntryPath(entry.path, source.name, 'index');
    if (index.has(path)) throw corruptEntry(source.name, path, 'is listed twice in the index');
    entry.path = path; // each entry is a fresh object from readIndex
    index.set(path, entry);
  }
  for (const entry of index.values()) {
    // Up to the nearest indexed folder only: the folders above it are checked as entries themselves.
    for (let above = parentOf(entry.path); above; above = parentOf(above)) {
      const type = index.get(above)?.type;
      if (type === undefined) continue;
      if (type === 'dir') break;
      if (type === 'symlink')
        throw unsafePath(`index entry "${entry.path}" of source "${source.name}"`, `lies below the symbolic link "${above}"`, {
          source: source.name,
          entry: entry.path,
        });
      if (type === 'file') throw corruptEntry(source.name, entry.path, `lies below "${above}", which the index lists as a file`);
    }
  }
  return index;
}
