import {
  entryPlacementProblem,
  type IndexEntry,
  indexEntryProblem,
  type Repository,
  type SourceMeta,
} from '@drkit/repository';
import { corruptEntry, unsafePath } from './errors.js';
import type { Salvage } from './salvage.js';

/**
 * A source's entry index keyed by path. Refuses, with the predicates verify reports with, names
 * that could escape the target or that no file system holds, and entries below a symlink
 * (writing through it could land anywhere) or below a file. With `salvage`, the
 * lines outside a damaged index's damaged frames.
 */
export async function loadIndex(
  repo: Repository,
  source: SourceMeta,
  salvage?: Salvage,
): Promise<Map<string, IndexEntry>> {
  const index = new Map<string, IndexEntry>();
  for await (const entry of salvage ? salvage.readIndex(repo, source) : repo.readIndex(source)) {
    const problem = indexEntryProblem(entry);
    if (problem?.escapes)
      throw unsafePath(`index entry ${JSON.stringify(entry.path)} of source "${source.name}"`, problem.why, {
        source: source.name,
        entry: entry.path,
      });
    if (problem) throw corruptEntry(source.name, entry.path, problem.why);
    if (index.has(entry.path)) throw corruptEntry(source.name, entry.path, 'is listed twice in the index');
    index.set(entry.path, entry);
  }
  for (const entry of index.values()) {
    const below = entryPlacementProblem(entry, index);
    if (below?.type === 'symlink')
      throw unsafePath(
        `index entry "${entry.path}" of source "${source.name}"`,
        `lies below the symbolic link "${below.above}"`,
        { source: source.name, entry: entry.path },
      );
    if (below)
      throw corruptEntry(source.name, entry.path, `lies below "${below.above}", which the index lists as a file`);
  }
  return index;
}
