import { DrkitError } from '@drkit/errors';

// Kept beside the Redis restore (not in ../errors.ts) so the file restore's codes stay its own.
export const RedisRestoreErrorCode = {
  NOT_REDIS: 'RESTORE_REDIS_NOT_REDIS',
  TARGET_TOO_OLD: 'RESTORE_REDIS_TARGET_TOO_OLD',
  TARGET_UNKNOWN_VERSION: 'RESTORE_REDIS_UNKNOWN_VERSION',
  CLUSTER_DB: 'RESTORE_REDIS_CLUSTER_DB',
  TARGET_DB_MISSING: 'RESTORE_REDIS_TARGET_DB_MISSING',
  CONFIRM_REQUIRED: 'RESTORE_REDIS_CONFIRM_REQUIRED',
  /**
   * `include` / `dbs` select no key of the snapshot, or `include` with replace (which would empty keys it leaves out).
   */
  NOTHING_SELECTED: 'RESTORE_REDIS_NOTHING_SELECTED',
  BAD_SELECTION: 'RESTORE_REDIS_BAD_SELECTION',
  /** `--salvage` of a damaged Redis archive: it cannot be restored key by key (ARCHITECTURE.md). */
  CANNOT_SALVAGE: 'RESTORE_REDIS_CANNOT_SALVAGE',
  FAILED: 'RESTORE_REDIS_FAILED',
  INTERRUPTED: 'RESTORE_REDIS_INTERRUPTED',
} as const;
export type RedisRestoreErrorCode = (typeof RedisRestoreErrorCode)[keyof typeof RedisRestoreErrorCode];

export class RedisRestoreError extends DrkitError<RedisRestoreErrorCode> {}
