import { dumpPath } from '@drkit/restore-core';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, warn, writeBytes } from '../output.js';
import { type FilterFlags, resolveRef } from '../selection.js';

export async function run(
  [ref, path]: unknown[],
  opts: GlobalOptions & FilterFlags & { source?: string },
): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const snap = await resolveRef(repo, ref as string, opts, config);
  // Without --source, PATH begins with its source's name, as find and ls print it.
  const [name, inside] = opts.source ? [opts.source, path as string] : splitFirst((path as string).replace(/^\/+/, ''));
  // Locked for reading, as restore is: no prune deletes an archive while it is read.
  return repo.withReadLock('dump', warn, async () => {
    const dump = await dumpPath(repo, snap, repo.source(snap, name), inside);
    for await (const chunk of dump.bytes) if (!(await writeBytes(chunk))) break;
    return ExitCode.OK;
  });
}

function splitFirst(path: string): [string, string] {
  const slash = path.indexOf('/');
  return slash < 0 ? [path, ''] : [path.slice(0, slash), path.slice(slash + 1)];
}
