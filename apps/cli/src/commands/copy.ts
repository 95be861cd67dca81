import { copySnapshots, Repository } from '@drkit/repository';
import { loadConfig, openRepo, storeFor, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, printJson, say } from '../output.js';
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
  });
  progress.done();
  const copied = results.filter((r) => r.status === 'copied');
  if (opts.json) printJson({ from: from.store.location, to: to.store.location, copied: copied.length, skipped: results.length - copied.length, snapshots: results });
  else {
    for (const r of results)
      say(r.status === 'copied' ? `copied  ${r.id} (${bytes(r.bytes)}${r.mode === 'as-stored' ? '' : `, ${r.mode}`})` : `skipped ${r.id} (already in ${to.store.location})`);
    say(`${copied.length} snapshot(s) copied to ${to.store.location}, ${results.length - copied.length} already there${opts.verify ? '; every blob was read back and matches its sha256' : ''}`);
  }
  return ExitCode.OK;
}
