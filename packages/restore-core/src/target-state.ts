import type { Stats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { opendir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '@drkit/errors';
import { fsPath } from '@drkit/repository';
import { asRestoreError, RestoreError, RestoreErrorCode } from './errors.js';
import type { TargetState } from './plan-model.js';
import { parentOf } from './paths.js';

export type ExistingKind = 'file' | 'dir' | 'symlink' | 'other';

export type Existing =
  | { kind: 'missing' }
  | { kind: ExistingKind; stats: Stats }
  /** Something that is not a folder sits at `by`, above this path. */
  | { kind: 'blocked'; by: string; byKind: ExistingKind };

/** Blocking, like the other per-entry metadata calls of a restore (see breather). */
export function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(fsPath(file));
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return undefined;
    throw asRestoreError(cause, `inspect ${file}`);
  }
}

function kindOf(stats: Stats): ExistingKind {
  return stats.isDirectory() ? 'dir' : stats.isFile() ? 'file' : stats.isSymbolicLink() ? 'symlink' : 'other';
}

/** Whether the target is missing, an empty folder or a non-empty one; anything else is refused. */
export async function inspectTarget(target: string): Promise<TargetState> {
  const stats = lstatOrUndefined(target);
  if (!stats) return 'missing';
  if (stats.isSymbolicLink()) {
    const real = await realpath(target).catch(() => undefined);
    throw new RestoreError(RestoreErrorCode.TARGET_INVALID, `The restore target ${target} is a symbolic link.`, {
      hint: real ? `Restore into the folder it points to: ${real}.` : 'Point the restore at a real folder.',
      details: { target },
    });
  }
  if (!stats.isDirectory())
    throw new RestoreError(
      RestoreErrorCode.TARGET_INVALID,
      `The restore target ${target} exists and is not a folder.`,
      {
        hint: 'Choose a folder (new or empty) to restore into.',
        details: { target },
      },
    );
  const dir = await opendir(target);
  try {
    return (await dir.read()) ? 'non-empty' : 'empty';
  } finally {
    await dir.close().catch(() => {});
  }
}

/** What already exists at each path under the target, looked up without ever following a symlink. */
export class ExistingTree {
  private readonly memo = new Map<string, Existing>();

  constructor(
    private readonly root: string,
    private readonly rootState: TargetState,
  ) {}

  at(relPath: string): Existing {
    let found = this.memo.get(relPath);
    if (!found) {
      found = this.lookup(relPath);
      this.memo.set(relPath, found);
    }
    return found;
  }

  private lookup(relPath: string): Existing {
    const parent = parentOf(relPath);
    if (parent) {
      const above = this.at(parent);
      if (above.kind === 'missing' || above.kind === 'blocked') return above;
      if (above.kind !== 'dir') return { kind: 'blocked', by: parent, byKind: above.kind };
    } else if (this.rootState === 'missing') return { kind: 'missing' };
    const stats = lstatOrUndefined(path.join(this.root, relPath));
    return stats ? { kind: kindOf(stats), stats } : { kind: 'missing' };
  }
}
