import { copySnapshots, Repository } from '@drkit/repository';
import { loadConfig, openRepo, storeFor, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, printJson, say, warn } from '../output.js';
import { stopsSafely } from '../interrupt.js';
import { transferProgress } from '../progress.js';

interface CopyFlags extends GlobalOptions {
  to: string;
  verify: boolean;
}

export async function run([ref]: unknown[], opts: CopyFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const from = await openRepo(opts, config);
  // Writing needs no key: the destination's config names its recipients.
  const to = await Repository.open(storeFor(opts.to));
  if (to.config.id === from.config.id)
    throw usage(`${from.store.location} and ${to.store.location} are the same repository (id ${to.config.id}).`, 'Give another repository with --to.');
  const progress = transferProgress(!opts.json);
  const results = await copySnapshots(from, to, ref as string, {
    verifyArrival: opts.verify,
    onProgress: (p) => progress.update(`copying ${p.snapshot}:`, p.bytes, p.totalBytes),
    onWarning: (message) => warn(`warning: ${message}`),
    signal: stopsSafely("the copy's locks and the unlisted blobs of the snapshot it was copying: run the same copy again to finish"),
  });
  progress.done();
  const count = (status: string) => results.filter((r) => r.status === status).length;
  const unreadable = count('unreadable');
  if (opts.json)
    printJson({ from: from.store.location, to: to.store.location, copied: count('copied'), skipped: count('skipped'), unreadable, snapshots: results });
  else {
    for (const r of results)
      if (r.status === 'copied') say(`copied  ${r.id} (${bytes(r.bytes)}${r.mode === 'as-stored' ? '' : `, ${r.mode}`})`);
      else if (r.status === 'skipped') say(`skipped ${r.id} (already in ${to.store.location})`);
      else warn(`not copied: ${r.id}: ${r.reason}`);
    say(`${count('copied')} snapshot(s) copied to ${to.store.location}, ${count('skipped')} already there${opts.verify ? '; every blob was read back and matches its sha256' : ''}`);
    if (unreadable > 0) warn(`${unreadable} snapshot(s) could not be copied: run \`drkit verify all\` on ${from.store.location} to see what is damaged`);
  }
  // Whatever could be copied was; the exit code says the copy is not complete.
  return unreadable > 0 ? ExitCode.ERROR : ExitCode.OK;
}
