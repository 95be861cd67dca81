import { planFromConfig, Slots } from '@drkit/scheduler';
import { loadConfig } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, say } from '../output.js';
import { when } from '../schedule.js';

/** `drkit schedule list`: the plan's jobs and their next runs. */
export async function run(_args: unknown[], opts: GlobalOptions): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const jobs = planFromConfig(config?.schedule);
  const slots = new Slots(jobs);
  const now = Date.now();
  const next = jobs.map((job) => ({ job, at: job.cron ? slots.next(job.name, now) : undefined }));
  if (opts.json) {
    printJson(
      next.map(({ job, at }) => ({
        name: job.name,
        run: job.run,
        args: job.args,
        cron: job.cron ?? null,
        after: job.after,
        timezone: job.timezone,
        catchUp: job.catchUp,
        next: at === undefined ? null : new Date(at).toISOString(),
      })),
    );
    return ExitCode.OK;
  }
  if (!config?.schedule) say('The DR plan (no schedule: in the config):');
  for (const { job, at } of next)
    say(
      `${job.name.padEnd(16)} drkit ${[job.run, ...job.args].join(' ').padEnd(28)} ` +
        `${job.cron ? `${job.cron.padEnd(14)} next ${when(at, job.timezone)}` : `after ${job.after.join(', ')}`}`,
    );
  return ExitCode.OK;
}
