import { describeLeftovers } from '@drkit/repository';
import {
  forgetSnapshots,
  formatRetention,
  formatRetentionGroups,
  type RetentionPolicy,
  retentionPolicyFromConfig,
} from '@drkit/backup-core';
import { parseDuration } from '@drkit/config/duration';
import { loadConfig, openRepo, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { lockNotes } from '../lock-notes.js';
import { bytes, type GlobalOptions, printJson, say } from '../output.js';
import { type FilterFlags, filterOf } from '../selection.js';

type CountRules = 'keepLast' | 'keepHourly' | 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'keepYearly';

// Numbers and durations arrive parsed and checked (flags.ts).
interface ForgetFlags extends GlobalOptions, FilterFlags, Pick<RetentionPolicy, CountRules> {
  keepWithin?: number;
  keepTag: string[];
  prune?: boolean;
  dryRun?: boolean;
  wait: number;
  withDependents?: boolean;
}

export async function run([refs]: unknown[], opts: ForgetFlags): Promise<ExitCode> {
  const ids = refs as string[];
  const flags = policyFlags(opts);
  if (ids.length && flags)
    throw usage(
      'Give snapshot ids or a retention policy, not both.',
      `Run \`drkit forget ${ids.join(' ')}\` and the policy form separately.`,
    );
  if (!ids.length && opts.withDependents)
    throw usage(
      '--with-dependents needs snapshot ids.',
      'Name the snapshots to remove: drkit forget ID… --with-dependents.',
    );
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const result = await forgetSnapshots(repo, {
    ...(ids.length
      ? { ids, withDependents: opts.withDependents }
      : { policy: flags ?? retentionPolicyFromConfig(config?.retention ?? { keep_within: '30d' }, parseDuration) }),
    now: new Date(),
    dryRun: opts.dryRun,
    prune: opts.prune,
    waitMs: opts.wait,
    filter: filterOf(opts),
    ...lockNotes,
    signal: stopsSafely(
      'its lock: the next drkit command on this host (or `drkit unlock`) removes it; every snapshot still ' +
        'listed is intact',
    ),
  });
  if (opts.json) printJson({ dryRun: opts.dryRun === true, ...result });
  else {
    say(ids.length ? formatRetention(result.decisions) : formatRetentionGroups(result.groups));
    const verb = opts.dryRun ? 'would remove' : 'removed';
    say(`${verb} ${result.removed.length} of ${result.decisions.length} snapshot(s)`);
    if (result.pruned)
      say(
        `${opts.dryRun ? 'would prune' : 'pruned'} ${result.pruned.blobs} ` +
          `blob(s), ${bytes(result.pruned.bytes)}, of ${result.pruned.snapshots.length} snapshot(s)`,
      );
    const recent = result.pruned?.tooRecent ?? [];
    if (recent.length)
      say(
        `kept the data of ${recent.length} unlisted snapshot(s) younger than 30 minutes, which a backup may ` +
          `still be writing (${recent.join(', ')}); a later prune removes it`,
      );
    const leftovers = result.pruned?.leftovers && describeLeftovers(result.pruned.leftovers);
    if (leftovers) say(leftovers);
  }
  return ExitCode.OK;
}

// Flags win over the config; with neither, the mission's default: keep 30 days.
function policyFlags(opts: ForgetFlags): RetentionPolicy | undefined {
  const flags: RetentionPolicy = {
    keepLast: opts.keepLast,
    keepHourly: opts.keepHourly,
    keepDaily: opts.keepDaily,
    keepWeekly: opts.keepWeekly,
    keepMonthly: opts.keepMonthly,
    keepYearly: opts.keepYearly,
    keepWithinMs: opts.keepWithin,
    keepTags: opts.keepTag.length ? opts.keepTag : undefined,
  };
  return Object.values(flags).some((v) => v !== undefined) ? flags : undefined;
}
