import { describeDamagedLock, removeLocks } from '@drkit/repository';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, say } from '../output.js';

export async function run(_args: unknown[], opts: GlobalOptions & { all?: boolean }): Promise<ExitCode> {
  const repo = await openRepo(opts, await loadConfig(opts));
  const damaged: Array<{ key: string; why: string }> = [];
  const removed = await removeLocks(repo.store, {
    all: opts.all === true,
    onDamaged: (key, why) => damaged.push({ key, why }),
  });
  if (opts.json) printJson({ removed, damaged });
  else {
    for (const l of removed)
      say(
        `removed ${l.exclusive ? 'exclusive' : 'shared'} lock of "${l.purpose}" (pid ${l.pid} on ${l.host}, ` +
          `since ${l.time})`,
      );
    for (const d of damaged) say(describeDamagedLock(d.key, d.why));
    say(
      removed.length + damaged.length
        ? `${removed.length} lock(s) removed${damaged.length ? `, and ${damaged.length} damaged lock file(s)` : ''}`
        : 'no stale locks',
    );
  }
  return ExitCode.OK;
}
