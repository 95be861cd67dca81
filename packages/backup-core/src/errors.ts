import { DrkitError } from '@drkit/errors';

export const BackupErrorCode = {
  SOURCE_MISSING: 'BACKUP_SOURCE_MISSING',
  NO_SOURCES: 'BACKUP_NO_SOURCES',
  DUPLICATE_SOURCE: 'BACKUP_DUPLICATE_SOURCE',
  FAILED: 'BACKUP_FAILED',
  REDIS_FAILED: 'BACKUP_REDIS_FAILED',
  /** Entries the walk saw that are neither in the archive nor reported: a drkit bug, never a silent loss. */
  ENTRIES_LOST: 'BACKUP_ENTRIES_LOST',
} as const;
export type BackupErrorCode = (typeof BackupErrorCode)[keyof typeof BackupErrorCode];

export class BackupError extends DrkitError<BackupErrorCode> {}
