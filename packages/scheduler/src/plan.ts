import path from 'node:path';
import { durationMs, type JobCommand, type JobConfig, type ScheduleConfig, type SchedulerConfig } from '@drkit/config';
import type { LeaseBackendOptions } from '@drkit/state';
import { Cron } from 'croner';
import { SchedulerError, SchedulerErrorCode } from './errors.js';

/** A job of the plan, resolved: its time zone and catch-up rule filled in. */
export interface Job {
  name: string;
  /** 5 or 6 fields (seconds first); absent for a job that runs `after` others. */
  cron?: string;
  /** Runs after each successful run of these jobs, for the same slot. */
  after: string[];
  run: JobCommand;
  args: string[];
  timezone: string;
  catchUp: boolean;
  catchUpMaxAgeMs: number;
}

const DEFAULT_CATCH_UP_MAX_AGE = '7d';

/**
 * The DR plan, run when the config has no `schedule:`: hourly incrementals, a daily backup at
 * 03:00 followed by retention, a weekly full on Sunday 02:00, a monthly verification reading all
 * data, and a copy off-site after every backup when `schedule.offsite` names a repository.
 * The drill (monthly) joins when drkit has a `drill` command (#10): add it here and to JOB_COMMANDS.
 */
export function defaultJobs(offsite?: string): JobConfig[] {
  const jobs: JobConfig[] = [
    { name: 'hourly', cron: '0 * * * *', run: 'backup', args: [] },
    { name: 'daily', cron: '0 3 * * *', run: 'backup', args: [] },
    { name: 'weekly-full', cron: '0 2 * * 0', run: 'backup', args: ['--full'] },
    { name: 'retention', after: ['daily'], run: 'forget', args: ['--prune'] },
    { name: 'verify-monthly', cron: '0 4 1 * *', run: 'verify', args: ['all', '--mark-clean'] },
  ];
  if (offsite)
    jobs.push({
      name: 'offsite-copy',
      after: ['hourly', 'daily', 'weekly-full'],
      run: 'copy',
      args: ['latest', '--to', offsite],
    });
  return jobs;
}

/** The host's time zone (TZ, else the system's). */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The jobs the config asks for (its `schedule.jobs`, else the DR plan), in plan order. */
export function planFromConfig(schedule: ScheduleConfig | undefined, zone = hostTimeZone()): Job[] {
  const timezone = schedule?.timezone ?? zone;
  return (schedule?.jobs ?? defaultJobs(schedule?.offsite)).map((job) => ({
    name: job.name,
    ...(job.cron !== undefined ? { cron: job.cron } : {}),
    after: job.after ?? [],
    run: job.run,
    args: job.args ?? [],
    timezone: job.timezone ?? timezone,
    catchUp: job.catch_up ?? (job.cron !== undefined && (job.run === 'backup' || job.run === 'verify')),
    catchUpMaxAgeMs: durationMs(job.catch_up_max_age ?? DEFAULT_CATCH_UP_MAX_AGE)!,
  }));
}

/**
 * A job's slots, by croner. A slot is an instant: a local time that does not exist (the hour
 * skipped in spring) falls on the first instant after it, once; a local time that happens twice
 * (the hour repeated in autumn) is one slot, the first. Jobs whose hour is `*` or a step run
 * every elapsed hour, so the repeated hour gets its hourly run too (the RPO needs it).
 */
export class Slots {
  private readonly crons = new Map<string, Cron>();

  constructor(jobs: readonly Job[]) {
    for (const job of jobs)
      if (job.cron) this.crons.set(job.name, new Cron(job.cron, { timezone: job.timezone, paused: true }));
  }

  /** The first slot strictly after `after` (ms), if any. */
  next(job: string, after: number): number | undefined {
    return this.crons.get(job)?.nextRun(new Date(after))?.getTime();
  }

  /** The newest slot at or before `atOrBefore`, if any. */
  previous(job: string, atOrBefore: number): number | undefined {
    return this.crons
      .get(job)
      ?.previousRuns(1, new Date(atOrBefore + 1))[0]
      ?.getTime();
  }

  /** Slots in (from, to], at most `limit` of them (counted, for catch-up's report). */
  count(job: string, from: number, to: number, limit = 10_000): number {
    let n = 0;
    for (let t = this.next(job, from); t !== undefined && t <= to && n < limit; t = this.next(job, t)) n++;
    return n;
  }
}

/** The plan's job of that name; SCHEDULER_UNKNOWN_JOB naming the others when there is none. */
export function findJob(jobs: readonly Job[], name: string): Job {
  const job = jobs.find((j) => j.name === name);
  if (!job)
    throw new SchedulerError(SchedulerErrorCode.UNKNOWN_JOB, `The plan has no job named ${JSON.stringify(name)}.`, {
      hint: `Jobs: ${jobs.map((j) => j.name).join(', ')} (drkit schedule list shows them).`,
      details: { job: name },
    });
  return job;
}

/** Job leases' default TTL when `scheduler.lease` does not say. */
export const DEFAULT_LEASE_TTL = '30s';

/**
 * Where the scheduler takes job leases: `scheduler.lease` when given, else beside the state
 * store (the same Redis, or `<state>/leases` for a folder: a file lock per lease, for one host).
 */
export function leaseSettings(
  settings: SchedulerConfig,
  stateLocation: string,
): { options: LeaseBackendOptions; ttlMs: number } {
  const lease = settings.lease;
  if (lease) {
    const { ttl, ...options } = lease;
    return { options: options as LeaseBackendOptions, ttlMs: durationMs(ttl)! };
  }
  const options: LeaseBackendOptions = /^rediss?:\/\//i.test(stateLocation)
    ? { backend: 'redis', url: stateLocation }
    : { backend: 'file', path: path.join(stateLocation, 'leases') };
  return { options, ttlMs: durationMs(DEFAULT_LEASE_TTL)! };
}
