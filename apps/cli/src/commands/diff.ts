import { diffSnapshots } from '@drkit/integrity-verifier';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, printJson, say, shownName } from '../output.js';
import { resolveRef } from '../selection.js';

export async function run([fromRef, toRef]: unknown[], opts: GlobalOptions): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const diff = await diffSnapshots(
    repo,
    await resolveRef(repo, fromRef as string, {}, config),
    await resolveRef(repo, toRef as string, {}, config),
  );
  if (opts.json) {
    printJson(diff);
    return ExitCode.OK;
  }
  for (const e of diff.added) say(`+ ${e.source}/${shownName(e.path)}${e.type === 'dir' ? '/' : ''}  ${bytes(e.size)}`);
  for (const e of diff.removed)
    say(`- ${e.source}/${shownName(e.path)}${e.type === 'dir' ? '/' : ''}  ${bytes(e.size)}`);
  for (const e of diff.changed)
    say(`M ${e.source}/${shownName(e.path)}  ${bytes(e.sizeBefore)} → ${bytes(e.size)}  (${e.what.join(', ')})`);
  say(
    `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed ` +
      `between ${diff.from} and ${diff.to}`,
  );
  return ExitCode.OK;
}
