import { loadConfig } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { printJson, say } from '../output.js';
import type { StateOptions } from '../state-context.js';
import { line, withScheduler } from '../schedule.js';

/** `drkit schedule run NAME`: the job now, by hand, under the daemon's rules (one run of a job at a time). */
export async function run(args: unknown[], opts: StateOptions): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const record = await withScheduler(opts, config, (scheduler) => scheduler.runNow(String(args[0])));
  if (opts.json) printJson(record);
  else say(line(record));
  if (record.result === 'success') return ExitCode.OK;
  return record.result === 'partial'
    ? ExitCode.PARTIAL_BACKUP
    : ((record.exitCode as ExitCode | undefined) ?? ExitCode.ERROR);
}
