import { DrkitError } from '@drkit/errors';

export const FailoverErrorCode = {
  /** Another monitor holds the site's lease: only the holder acts. */
  BUSY: 'FAILOVER_BUSY',
  /** The state does not allow it (e.g. failback when not failed over, trigger while failed over). */
  BAD_STATE: 'FAILOVER_BAD_STATE',
  /** Automatic failover is held back: paused, in cooldown, or the daily cap reached. */
  HELD: 'FAILOVER_HELD',
  /** A step failed: the sequence stopped there, the lease is kept, P1 paged. */
  STEP_FAILED: 'FAILOVER_STEP_FAILED',
  /** A hook was handed an epoch older than one it has seen: a stale actor. */
  STALE_EPOCH: 'FAILOVER_STALE_EPOCH',
  /** `failover:` is missing from the config. */
  NOT_CONFIGURED: 'FAILOVER_NOT_CONFIGURED',
  /** A confirmation (`--yes`) or reason (`--reason`) is needed. */
  NEEDS_CONFIRMATION: 'FAILOVER_NEEDS_CONFIRMATION',
} as const;
export type FailoverErrorCode = (typeof FailoverErrorCode)[keyof typeof FailoverErrorCode];

export class FailoverError extends DrkitError<FailoverErrorCode> {}
