import { loadConfig, openRepo, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { type GlobalOptions, printJson, say } from '../output.js';
import { resolveRef } from '../selection.js';

export async function run(
  [ref]: unknown[],
  opts: GlobalOptions & { add: string[]; remove: string[] },
): Promise<ExitCode> {
  if (opts.add.length + opts.remove.length === 0)
    throw usage('Nothing to change.', 'Pass --add TAG and/or --remove TAG.');
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const snap = await resolveRef(repo, ref as string, {}, config);
  const signal = stopsSafely('its lock: the next drkit command on this host (or `drkit unlock`) removes it');
  const updated = await repo.setTags(snap.id, [...snap.tags.filter((t) => !opts.remove.includes(t)), ...opts.add], {
    signal,
  });
  if (opts.json) printJson({ id: updated.id, tags: updated.tags });
  else say(`${updated.id}: tags ${updated.tags.join(', ') || '(none)'}`);
  return ExitCode.OK;
}
