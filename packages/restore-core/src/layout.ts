import { type Repository, type SnapshotMeta, sourceNameProblem } from '@drkit/repository';
import { RestoreError, RestoreErrorCode, unsafePath } from './errors.js';

// Only file-tree sources restore into a folder; others (e.g. redis) have their own restorers.
const FILES = 'files';

export interface SourceLayout {
  name: string;
  /** Folder under the target, `''` when the files go straight into the target. */
  dir: string;
}

export interface SourceChoice {
  layouts: SourceLayout[];
  /** Sources of the snapshot left out because they are not file trees. */
  notRestored: { name: string; type: string }[];
}

/**
 * Each source lands in `TARGET/<name>/`, except a single source the user named, which lands in
 * TARGET itself (`--source config` restores config's files, not a folder holding them).
 */
export function layoutSources(repo: Repository, snapshot: SnapshotMeta, requested: string[] | undefined): SourceChoice {
  const named = requested !== undefined && requested.length > 0;
  const chosen = named
    ? [...new Set(requested)].map((name) => repo.source(snapshot, name))
    : snapshot.sources.filter((s) => s.type === FILES);
  for (const { name, type } of chosen) {
    if (type !== FILES)
      throw new RestoreError(
        RestoreErrorCode.UNSUPPORTED_SOURCE,
        `Source "${name}" of snapshot ${snapshot.id} is a ${type} source, not a file tree; it cannot be ` +
          `restored into a folder.`,
        {
          hint: `Restore it with the tool for ${type} sources, and restore the file sources here without it.`,
          details: { source: name, type },
        },
      );
    // A source name becomes a folder name: the metadata's reader checked it, and so does this API.
    const problem = sourceNameProblem(name);
    if (problem) throw unsafePath(`source name ${JSON.stringify(name)}`, problem, { source: name });
  }
  const straight = named && chosen.length === 1;
  return {
    layouts: chosen.map(({ name }) => ({ name, dir: straight ? '' : name })),
    notRestored: named
      ? []
      : snapshot.sources.filter((s) => s.type !== FILES).map(({ name, type }) => ({ name, type })),
  };
}
