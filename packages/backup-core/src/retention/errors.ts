import { DrkitError } from '@drkit/errors';

export const RetentionErrorCode = {
  INVALID: 'BACKUP_RETENTION_INVALID',
} as const;
export type RetentionErrorCode = (typeof RetentionErrorCode)[keyof typeof RetentionErrorCode];

/** Bad input to the retention planner; nothing is planned, so nothing can be removed by mistake. */
export class RetentionError extends DrkitError<RetentionErrorCode> {}

export function invalidRetention(message: string, hint: string, details: Record<string, unknown>): RetentionError {
  return new RetentionError(RetentionErrorCode.INVALID, message, { hint, details });
}
