import { Cron } from 'croner';
import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';
import { leaseSchema } from './failover-schema.js';
import { hinted } from './hints.js';

/**
 * The drkit commands a job may run (`drill` runs a recovery
 * drill: `args: ["--scenario", "full"]` for the quarterly one).
 */
export const JOB_COMMANDS = ['backup', 'verify', 'forget', 'copy', 'drill'] as const;
export type JobCommand = (typeof JOB_COMMANDS)[number];

const duration = (example: string) =>
  hinted(
    z.string().refine((text) => durationMs(text) !== undefined),
    { expected: `a duration like ${example}`, write: `whole numbers with a unit (${DURATION_UNITS})`, example },
  );

/** True when the IANA zone is known to this Node (its ICU data). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why a cron expression is refused, or undefined when croner accepts it with 5 or 6 fields. */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6)
    return (
      `has ${fields} field${fields === 1 ? '' : 's'}; a cron expression has 5 (minute hour day month weekday) ` +
      `or 6 (with seconds first)`
    );
  try {
    new Cron(expression, { paused: true });
    return undefined;
  } catch (error) {
    return `is not a cron expression croner accepts (${(error as Error).message.replace(/^CronPattern: /, '')})`;
  }
}

const timezone = hinted(z.string().refine(isTimeZone), {
  expected: 'an IANA time zone',
  write: 'a zone name',
  example: 'Europe/Berlin',
});
const jobName = hinted(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i), {
  expected: 'a job name of letters, digits, "_" or "-"',
  write: 'such a name',
  example: 'hourly',
});

export const jobSchema = z
  .strictObject({
    name: jobName,
    /** 5 fields, or 6 with seconds first; in the job's (else the schedule's) time zone. */
    cron: hinted(
      z.string().superRefine((cron, ctx) => {
        const problem = cronProblem(cron);
        if (problem)
          ctx.addIssue({
            code: 'custom',
            input: cron,
            message:
              `"${cron}" ${problem}. ` +
              `Fix: write e.g. "0 3 * * *" (daily 03:00) ` +
              `or "*/10 * * * * *" (every 10 s).`,
          });
      }),
      { expected: 'a cron expression', write: 'a quoted expression', example: '"0 * * * *"' },
    ).optional(),
    /** Instead of cron: run after each successful run of these jobs, for the same slot. */
    after: hinted(z.array(jobName).min(1), {
      expected: 'a list of job names',
      write: 'a list',
      example: '[daily]',
    }).optional(),
    run: hinted(z.enum(JOB_COMMANDS), {
      expected: `one of ${JOB_COMMANDS.join(', ')}`,
      write: 'a command',
      example: 'backup',
    }),
    args: hinted(z.array(z.string()), {
      expected: 'a list of drkit arguments',
      write: 'a list',
      example: '["--full"]',
    }).default(() => []),
    timezone: timezone.optional(),
    /** Slots missed while no daemon ran: one run at start-up (default: true for backup and verify). */
    catch_up: hinted(z.boolean(), { expected: 'true or false', write: 'a boolean', example: 'true' }).optional(),
    /** Missed slots older than this are not caught up. */
    catch_up_max_age: duration('7d').optional(),
  })
  .superRefine((job, ctx) => {
    if ((job.cron === undefined) === (job.after === undefined))
      ctx.addIssue({
        code: 'custom',
        input: job,
        path: [],
        message: `${
          job.cron === undefined ? 'says neither when (cron) nor after which job (after)' : 'gives both cron and after'
        }. Fix: give exactly one, e.g. cron: "0 3 * * *".`,
      });
  });

function checkJobs(
  schedule: { jobs?: readonly { name?: unknown; after?: unknown }[] },
  ctx: z.core.$RefinementCtx,
): void {
  if (!Array.isArray(schedule?.jobs)) return;
  const names = new Map<string, number>();
  schedule.jobs?.forEach((job, i) => {
    if (typeof job?.name !== 'string') return;
    if (names.has(job.name))
      ctx.addIssue({
        code: 'custom',
        input: job.name,
        path: ['jobs', i, 'name'],
        message:
          `duplicate job name "${job.name}" (already used by jobs[${names.get(job.name)}]). Fix: give each ` +
          `job its own name.`,
      });
    else names.set(job.name, i);
  });
  schedule.jobs?.forEach((job, i) => {
    if (!Array.isArray(job?.after)) return;
    job.after.forEach((name: unknown, j: number) => {
      if (typeof name === 'string' && !names.has(name))
        ctx.addIssue({
          code: 'custom',
          input: name,
          path: ['jobs', i, 'after', j],
          message: `no job is named "${name}". Fix: name one of ${[...names.keys()].join(', ')}.`,
        });
    });
  });
}

export const scheduleSchema = hinted(
  z
    .strictObject({
      /** The jobs' time zone unless a job names its own (default: this host's). */
      timezone: timezone.optional(),
      /** Where the plan's `copy` job copies each new backup (off-site); no copy job without it. */
      offsite: hinted(z.string().min(1), {
        expected: 'a repository location',
        write: 'a path or URL',
        example: 's3://backups/offsite',
      }).optional(),
      jobs: hinted(z.array(jobSchema).min(1), {
        expected: 'a list of jobs',
        write: 'a list',
        example: '[{ name: hourly, cron: "0 * * * *", run: backup }]',
      }).optional(),
    })
    // Runs beside other errors (so all show at once): checkJobs reads defensively.
    .superRefine(checkJobs, { when: () => true }),
  {
    expected: 'schedule settings (timezone, jobs)',
    write: 'settings indented under schedule',
    example: '{ timezone: Europe/Berlin, jobs: [...] }',
  },
);

export const schedulerSchema = hinted(
  z.strictObject({
    /** host:port of the HTTP endpoints (metrics, health, status, Alertmanager). */
    listen: hinted(z.string().regex(/^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i), {
      expected: 'host:port',
      write: 'an address',
      example: '"127.0.0.1:9464"',
    }).default('127.0.0.1:9464'),
    /** Bearer token for POST /alertmanager (and the operator page, when set). */
    token: hinted(z.string().min(16), {
      expected: 'a token of at least 16 characters',
      write: 'an environment reference',
      example: `"\${DRKIT_HTTP_TOKEN}"`,
    }).optional(),
    /** On SIGTERM: how long a running job may finish before it is stopped (cleanly). */
    shutdown_grace: duration('5m').default('5m'),
    /**
     * Where replicas take each job's lease (backend file, redis or etcd, and its ttl: a daemon that
     * stops renewing loses the job after it). Default: beside the state store (its Redis, or
     * <state>/leases for a folder), ttl 30s.
     */
    lease: leaseSchema.optional(),
    /** How often the RPO watch re-reads the repository's snapshot list (besides after each job). */
    rpo_refresh: duration('5m').default('5m'),
    /**
     * Run records older than this are pruned as the daemon runs (each job's newest is kept: catch-up counts from it).
     */
    history: duration('90d').default('90d'),
  }),
  {
    expected: 'scheduler settings (listen, token, shutdown_grace)',
    write: 'settings indented under scheduler',
    example: '{ listen: "127.0.0.1:9464" }',
  },
);

export const objectivesSchema = hinted(
  z.strictObject({
    /** Recovery point objective: the newest good backup of each source is never older than this. */
    rpo: duration('1h').default('1h'),
    /** Recovery time objective (drills measure it). */
    rto: duration('4h').default('4h'),
  }),
  { expected: 'objectives (rpo, rto)', write: 'settings indented under objectives', example: '{ rpo: 1h, rto: 4h }' },
);

export type ScheduleConfig = z.output<typeof scheduleSchema>;
export type JobConfig = z.output<typeof jobSchema>;
export type SchedulerConfig = z.output<typeof schedulerSchema>;
export type ObjectivesConfig = z.output<typeof objectivesSchema>;

/** `scheduler:` with its defaults filled in (also when the section is absent). */
export function schedulerSettings(config: { scheduler?: SchedulerConfig }): SchedulerConfig {
  return config.scheduler ?? schedulerSchema.parse({});
}

/** `objectives:` with its defaults filled in (also when the section is absent). */
export function objectives(config: { objectives?: ObjectivesConfig }): ObjectivesConfig {
  return config.objectives ?? objectivesSchema.parse({});
}
