import { DrkitError, errnoCode, isDrkitError } from '@drkit/errors';

export const RestoreErrorCode = {
  BAD_OPTIONS: 'RESTORE_BAD_OPTIONS',
  TARGET_NOT_EMPTY: 'RESTORE_TARGET_NOT_EMPTY',
  TARGET_INVALID: 'RESTORE_TARGET_INVALID',
  TARGET_CHANGED: 'RESTORE_TARGET_CHANGED',
  CONFLICT: 'RESTORE_CONFLICT',
  NOTHING_SELECTED: 'RESTORE_NOTHING_SELECTED',
  /** `dump` of a path the snapshot does not hold. */
  PATH_NOT_FOUND: 'RESTORE_PATH_NOT_FOUND',
  UNSUPPORTED_SOURCE: 'RESTORE_UNSUPPORTED_SOURCE',
  UNSAFE_PATH: 'RESTORE_UNSAFE_PATH',
  CORRUPT: 'RESTORE_CORRUPT',
  INCOMPLETE: 'RESTORE_INCOMPLETE',
  INTERRUPTED: 'RESTORE_INTERRUPTED',
  IO: 'RESTORE_IO',
} as const;
export type RestoreErrorCode = (typeof RestoreErrorCode)[keyof typeof RestoreErrorCode];

export class RestoreError extends DrkitError<RestoreErrorCode> {}

/** An archive entry that does not match the snapshot's index, or whose content is damaged. */
export function corruptEntry(source: string, entry: string, why: string, cause?: unknown): RestoreError {
  return new RestoreError(RestoreErrorCode.CORRUPT, `Entry "${entry}" of source "${source}" ${why}.`, {
    cause,
    hint:
      'The snapshot is damaged: run `drkit verify` on it and restore from another snapshot or another copy. ' +
      'The target was not changed.',
    details: { source, entry },
  });
}

/** An entry name or a path in the target that could make a restore write outside the target. */
export function unsafePath(what: string, why: string, details: Record<string, unknown>): RestoreError {
  return new RestoreError(
    RestoreErrorCode.UNSAFE_PATH,
    `Refusing ${what}: it ${why}, so the restore could write outside the target.`,
    {
      hint:
        'Nothing was written. If the snapshot holds this name it may have been tampered with: restore from ' +
        'another copy. If the target holds a symbolic link there, remove it or choose another target.',
      details,
    },
  );
}

/** Keeps drkit errors as they are; wraps file system failures with what was being done. */
export function asRestoreError(cause: unknown, doing: string): DrkitError {
  if (isDrkitError(cause)) return cause;
  const code = errnoCode(cause);
  const hint =
    code === 'ENOSPC'
      ? 'The disk is full: free space next to the target, or restore somewhere else.'
      : code === 'EACCES' || code === 'EPERM'
        ? 'Check that this user may write the target and the folder that holds it.'
        : 'Check the disk and the target folder, then try again.';
  return new RestoreError(RestoreErrorCode.IO, `Could not ${doing}: ${(cause as Error)?.message ?? String(cause)}.`, {
    cause,
    hint,
  });
}
