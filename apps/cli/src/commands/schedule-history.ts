import { findJob, planFromConfig, RunHistory } from '@drkit/scheduler';
import { loadConfig } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { printJson, say } from '../output.js';
import type { StateOptions } from '../state-context.js';
import { line, withState } from '../schedule.js';

/** `drkit schedule history [--job NAME]`: runs recorded in the state store, oldest first. */
export async function run(_args: unknown[], opts: StateOptions & { job?: string; limit?: number }): Promise<ExitCode> {
  const config = await loadConfig(opts);
  if (opts.job) findJob(planFromConfig(config?.schedule), opts.job);
  const records = await withState(opts, config, async (store) =>
    (await new RunHistory(store).list(opts.job)).map((r) => r.record),
  );
  const shown = opts.limit ? records.slice(-opts.limit) : records;
  if (opts.json) {
    printJson(shown);
    return ExitCode.OK;
  }
  if (shown.length === 0)
    say(opts.job ? `no runs of ${opts.job} yet` : 'no runs yet (start drkit-scheduler, or drkit schedule run NAME)');
  for (const r of shown) say(line(r));
  return ExitCode.OK;
}
