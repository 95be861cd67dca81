import { objectives, parseDuration } from '@drkit/config';
import { writeIncidentReport } from '@drkit/runbooks';
import { loadConfig } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type NotifyOptions, openNotifier } from '../notify-context.js';
import { printJson, say } from '../output.js';

/** `drkit incident report ID`: the post-incident review, prefilled from the timeline and runbook runs. */
export async function run([id]: unknown[], opts: NotifyOptions & { out: string }): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const notifier = await openNotifier(opts);
  try {
    const written = await writeIncidentReport(notifier, String(id), opts.out, {
      rtoMs: parseDuration(objectives(config ?? {}).rto),
    });
    await notifier.deliver();
    if (opts.json) printJson(written);
    else say(`wrote ${written.path}: complete the parts marked "To be written by a person"`);
    return ExitCode.OK;
  } finally {
    await notifier.store.close();
  }
}
