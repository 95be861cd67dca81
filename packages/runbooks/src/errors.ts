import { DrkitError } from '@drkit/errors';

export const RunbookErrorCode = {
  /** The sandbox folder could not be made, or is not empty. */
  SANDBOX: 'DRILL_SANDBOX',
  /** The drill could not start its scratch redis-server, or reach the configured one. */
  SCRATCH_REDIS: 'DRILL_SCRATCH_REDIS',
  /** SIGINT or SIGTERM stopped the drill (it cleaned up first). */
  INTERRUPTED: 'DRILL_INTERRUPTED',
  /** A stored drill report that does not match its schema. */
  DAMAGED: 'DRILL_DAMAGED',
  /** A runbook name that is neither built in nor in the config's runbooks. */
  NO_SUCH_RUNBOOK: 'RUNBOOK_NOT_FOUND',
  /** `--from` names a step the runbook does not have. */
  NO_SUCH_STEP: 'RUNBOOK_NO_SUCH_STEP',
  /** A confirm step was answered no, or could not be asked (no terminal and no --yes). */
  NOT_CONFIRMED: 'RUNBOOK_NOT_CONFIRMED',
  /** A probe step without probes to run. */
  NO_PROBES: 'RUNBOOK_NO_PROBES',
  /** An env file that cannot be read, or lacks a key to rotate. */
  SECRETS: 'SECRETS_ROTATE',
  /** A log scan whose glob or pattern is not usable. */
  LOG_SCAN: 'LOG_SCAN',
  /** An incident report file that exists already (people may have written in it). */
  REPORT_EXISTS: 'INCIDENT_REPORT_EXISTS',
  /** No drill has that id. */
  NOT_FOUND: 'DRILL_NOT_FOUND',
} as const;
export type RunbookErrorCode = (typeof RunbookErrorCode)[keyof typeof RunbookErrorCode];

export class RunbookError extends DrkitError<RunbookErrorCode> {}
