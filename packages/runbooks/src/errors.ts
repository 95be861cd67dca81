import { DrkitError } from '@drkit/errors';

export const RunbookErrorCode = {
  /** The sandbox folder could not be made, or is not empty. */
  SANDBOX: 'DRILL_SANDBOX',
  /** The drill could not start its scratch redis-server, or reach the configured one. */
  SCRATCH_REDIS: 'DRILL_SCRATCH_REDIS',
  /** A stored drill report that does not match its schema. */
  DAMAGED: 'DRILL_DAMAGED',
  /** No drill has that id. */
  NOT_FOUND: 'DRILL_NOT_FOUND',
} as const;
export type RunbookErrorCode = (typeof RunbookErrorCode)[keyof typeof RunbookErrorCode];

export class RunbookError extends DrkitError<RunbookErrorCode> {}
