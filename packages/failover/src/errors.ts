import { DrkitError } from '@drkit/errors';

export const FailoverErrorCode = {
  /** Another monitor holds the site's lease: only the holder acts. */
  BUSY: 'FAILOVER_BUSY',
  /** The state does not allow it (e.g. failback when not failed over, trigger while failed over). */
  BAD_STATE: 'FAILOVER_BAD_STATE',
  /** A step failed: the sequence stopped there, the lease is kept, P1 paged. */
  STEP_FAILED: 'FAILOVER_STEP_FAILED',
  /** `drkit failover restore --step N` names a step that is not a restore step. */
  NO_SUCH_STEP: 'FAILOVER_NO_SUCH_STEP',
  /** `failover:` is missing from the config. */
  NOT_CONFIGURED: 'FAILOVER_NOT_CONFIGURED',
} as const;
export type FailoverErrorCode = (typeof FailoverErrorCode)[keyof typeof FailoverErrorCode];

export class FailoverError extends DrkitError<FailoverErrorCode> {}
