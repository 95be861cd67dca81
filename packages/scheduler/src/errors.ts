import { DrkitError } from '@drkit/errors';

export const SchedulerErrorCode = {
  /** `drkit schedule run NAME` (or a history filter) names a job the plan does not have. */
  UNKNOWN_JOB: 'SCHEDULER_UNKNOWN_JOB',
  /** A run by hand found the job already running (here or on another replica). */
  JOB_BUSY: 'SCHEDULER_JOB_BUSY',
  /** The job's lease passed to another daemon while it ran: the run was stopped. */
  LEASE_LOST: 'SCHEDULER_LEASE_LOST',
  /** The drkit command a job runs could not be started, or said nothing drkit would say. */
  JOB_CRASHED: 'SCHEDULER_JOB_CRASHED',
  /** The HTTP port is taken or not ours to bind. */
  LISTEN_FAILED: 'SCHEDULER_LISTEN_FAILED',
  /** A stored run record that does not match the model. */
  DAMAGED: 'SCHEDULER_DAMAGED',
} as const;
export type SchedulerErrorCode = (typeof SchedulerErrorCode)[keyof typeof SchedulerErrorCode];

export class SchedulerError extends DrkitError<SchedulerErrorCode> {}
