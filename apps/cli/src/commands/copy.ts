import { copySnapshots, Repository } from '@drkit/repository';
import { loadConfig, openRepo, storeFor, usage } from '../context.js';
import { loadSigningKey } from '../keys.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, printJson, say, warn } from '../output.js';
import { stopsSafely } from '../interrupt.js';
import { transferProgress } from '../progress.js';
import { type FilterFlags, filterOf, resolveRef } from '../selection.js';

interface CopyFlags extends GlobalOptions, FilterFlags {
  to: string;
  verify: boolean;
  signingKey?: string;
}

export async function run([ref]: unknown[], opts: CopyFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const from = await openRepo(opts, config);
  // Writing needs no key: the destination's config names its recipients.
  const to = await Repository.open(storeFor(opts.to), { signingKey: await loadSigningKey(opts.signingKey, config) });
  if (to.config.id === from.config.id)
    throw usage(
      `${from.store.location} and ${to.store.location} are the same repository (id ${to.config.id}).`,
      'Give another repository with --to.',
    );
  // `latest` means this config's latest (selection.ts); `all` is every snapshot the filter selects.
  const chosen = ref === 'all' ? 'all' : (await resolveRef(from, ref as string, opts, config)).id;
  const progress = transferProgress(!opts.json);
  const results = await copySnapshots(from, to, chosen, {
    filter: filterOf(opts),
    verifyArrival: opts.verify,
    onProgress: (p) => progress.update(`copying ${p.snapshot}:`, p.bytes, p.totalBytes),
    onWarning: (message) => warn(`warning: ${message}`),
    signal: stopsSafely(
      "the copy's locks and the unlisted blobs of the snapshot it was copying: run the same copy again to finish",
    ),
  });
  progress.done();
  const count = (status: string) => results.filter((r) => r.status === status).length;
  const unreadable = count('unreadable');
  if (opts.json)
    printJson({
      from: from.store.location,
      to: to.store.location,
      copied: count('copied'),
      skipped: count('skipped'),
      unreadable,
      snapshots: results,
    });
  else {
    for (const r of results)
      if (r.status === 'copied')
        say(
          `copied  ${r.id} (${bytes(r.bytes)}${r.mode === 'as-stored' ? '' : `, ${r.mode}`}` +
            `${SIGNATURE_NOTES[r.signature ?? 'none']})`,
        );
      else if (r.status === 'skipped') say(`skipped ${r.id} (already in ${to.store.location})`);
      else warn(`not copied: ${r.id}: ${r.reason}`);
    say(
      `${count('copied')} snapshot(s) copied to ${to.store.location}, ${count('skipped')} already ` +
        `there${opts.verify ? '; every blob was read back and matches its sha256' : ''}`,
    );
    if (unreadable > 0)
      warn(
        `${unreadable} snapshot(s) could not be copied: run \`drkit verify all\` on ${from.store.location} ` +
          `to see what is damaged`,
      );
  }
  // Whatever could be copied was; the exit code says the copy is not complete.
  return unreadable > 0 ? ExitCode.ERROR : ExitCode.OK;
}

const SIGNATURE_NOTES: Record<string, string> = {
  none: '',
  kept: ', signature kept',
  're-signed': ', re-signed',
  dropped:
    ', UNSIGNED: its blobs changed, so its signature no longer holds (to re-sign, pass --signing-key and ' +
    'pin the source key with --trust-key)',
};
