import { DrkitError } from '@drkit/errors';

export const BackupErrorCode = {
  SOURCE_MISSING: 'BACKUP_SOURCE_MISSING',
  SOURCE_UNREADABLE: 'BACKUP_SOURCE_UNREADABLE',
  ALL_SOURCES_FAILED: 'BACKUP_ALL_SOURCES_FAILED',
  NO_SOURCES: 'BACKUP_NO_SOURCES',
  DUPLICATE_SOURCE: 'BACKUP_DUPLICATE_SOURCE',
  FAILED: 'BACKUP_FAILED',
  REDIS_FAILED: 'BACKUP_REDIS_FAILED',
  /** Entries the walk saw that are neither in the archive nor reported: a drkit bug, never a silent loss. */
  ENTRIES_LOST: 'BACKUP_ENTRIES_LOST',
  INTERRUPTED: 'BACKUP_INTERRUPTED',
  FORGET_INTERRUPTED: 'BACKUP_FORGET_INTERRUPTED',
  /** `forget ID` of a snapshot later snapshots need, without --with-dependents. */
  FORGET_HAS_DEPENDENTS: 'BACKUP_FORGET_HAS_DEPENDENTS',
} as const;
export type BackupErrorCode = (typeof BackupErrorCode)[keyof typeof BackupErrorCode];

export class BackupError extends DrkitError<BackupErrorCode> {}

/** Failures of one source: the backup records the source as failed and keeps the others. */
const SOURCE_FAILURES: readonly string[] = [
  BackupErrorCode.SOURCE_MISSING,
  BackupErrorCode.SOURCE_UNREADABLE,
  BackupErrorCode.REDIS_FAILED,
];

export function isSourceFailure(err: unknown): err is BackupError {
  return err instanceof BackupError && SOURCE_FAILURES.includes(err.code);
}
