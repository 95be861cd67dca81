import { removeLocks } from '@drkit/repository';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, say } from '../output.js';

export async function run(_args: unknown[], opts: GlobalOptions & { all?: boolean }): Promise<ExitCode> {
  const repo = await openRepo(opts, await loadConfig(opts));
  const removed = await removeLocks(repo.store, { all: opts.all === true });
  if (opts.json) printJson({ removed });
  else {
    for (const l of removed) say(`removed ${l.exclusive ? 'exclusive' : 'shared'} lock of "${l.purpose}" (pid ${l.pid} on ${l.host}, since ${l.time})`);
    say(removed.length ? `${removed.length} lock(s) removed` : 'no stale locks');
  }
  return ExitCode.OK;
}
