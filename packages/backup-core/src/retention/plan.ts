import { bucketOf, type BucketRule, type RetentionTimeZone } from './buckets.js';
import { keepDependencies } from './chain.js';
import { invalidRetention } from './errors.js';
import { type CountRule, checkPolicy, durationLabel, isEmptyPolicy, type RetentionPolicy } from './policy.js';

export interface RetentionSnapshot {
  id: string;
  /** ISO 8601 with `Z` or an offset, e.g. `2026-11-20T14:00:00.000Z`. */
  time: string;
  tags: string[];
  kind: 'full' | 'incremental';
  /** The snapshot this incremental was taken against. */
  parent?: string;
  /** The full snapshot at the root of this incremental's chain. */
  base?: string;
  /** For planRetentionGroups: the host and the source names that make up its group. */
  host?: string;
  sources?: readonly string[];
}

export interface RetentionDecision {
  id: string;
  time: string;
  keep: boolean;
  /** Every rule that keeps it, in rule order; `["no rule keeps it"]` when removed. */
  reasons: string[];
}

/** Snapshots of one host and one set of sources, planned together; decisions newest first. */
export interface RetentionGroup {
  host: string;
  /** Sorted source names. */
  sources: string[];
  decisions: RetentionDecision[];
}

export interface RetentionOptions {
  /**
   * Calendar used for hourly…yearly buckets: UTC (default, same answer on every server) or the process's local zone.
   */
  timeZone?: RetentionTimeZone;
  /**
   * planRetentionGroups: only these snapshots are planned (forget's --host/--source/--path/--tag);
   * the others are kept and left out of the groups, and what they depend on is kept too.
   */
  selected?: (snapshot: RetentionSnapshot) => boolean;
}

interface Entry {
  snapshot: RetentionSnapshot;
  ms: number;
}

const BUCKET_RULES: ReadonlyArray<[BucketRule, CountRule]> = [
  ['hourly', 'keepHourly'],
  ['daily', 'keepDaily'],
  ['weekly', 'keepWeekly'],
  ['monthly', 'keepMonthly'],
  ['yearly', 'keepYearly'],
];

// A zone is required: a bare local time would land in different buckets on different servers.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Decides which snapshots a policy keeps, newest first, with every reason. Pure: no I/O, and
 * `now` is only used to ignore snapshots dated in the future when anchoring `keepWithinMs`.
 * All snapshots share buckets; planRetentionGroups plans per host and source set.
 */
export function planRetention(
  snapshots: readonly RetentionSnapshot[],
  policy: RetentionPolicy,
  now: Date,
  options: RetentionOptions = {},
): RetentionDecision[] {
  checkInput(policy, now);
  const entries = newestFirst(snapshots);
  // Without any rule, planning removals would delete everything: keep all instead.
  if (isEmptyPolicy(policy)) return entries.map(({ snapshot }) => decision(snapshot, ['no policy given']));
  const reasons = ruleReasons(entries, policy, now, options);
  keepDependencies(
    entries.map((e) => e.snapshot),
    reasons,
  );
  return entries.map(({ snapshot }, i) => decision(snapshot, reasons[i]!));
}

/** Which retention group a snapshot of `host` with these source names is in (order does not matter). */
export function retentionGroupKey(host: string, sources: readonly string[]): string {
  return JSON.stringify([host, [...new Set(sources)].sort()]);
}

/**
 * Plans each group of snapshots (same `host`, same set of `sources`) on its own, as restic's
 * `--group-by host,paths`: newer snapshots of another host or source set never push a group's
 * snapshots out of their buckets. Chain safety runs across all groups, so a kept incremental
 * keeps what it depends on even where a chain crosses groups (snapshots made before chains
 * stayed within one group). Groups are sorted by host, then sources.
 */
export function planRetentionGroups(
  snapshots: readonly RetentionSnapshot[],
  policy: RetentionPolicy,
  now: Date,
  options: RetentionOptions = {},
): RetentionGroup[] {
  checkInput(policy, now);
  const entries = newestFirst(snapshots);
  const groups = new Map<string, { host: string; sources: string[]; members: number[] }>();
  const selected = options.selected ?? (() => true);
  entries.forEach(({ snapshot }, i) => {
    if (!selected(snapshot)) return;
    const host = snapshot.host ?? '';
    const sources = [...new Set(snapshot.sources ?? [])].sort();
    const key = retentionGroupKey(host, sources);
    const group = groups.get(key) ?? { host, sources, members: [] };
    groups.set(key, group);
    group.members.push(i);
  });
  const empty = isEmptyPolicy(policy);
  const reasons: string[][] = entries.map(({ snapshot }) => (selected(snapshot) ? [] : ['not selected']));
  if (!empty) {
    for (const { members } of groups.values()) {
      const own = ruleReasons(
        members.map((i) => entries[i]!),
        policy,
        now,
        options,
      );
      for (const [k, i] of members.entries()) reasons[i] = own[k]!;
    }
    keepDependencies(
      entries.map((e) => e.snapshot),
      reasons,
    );
  }
  return [...groups.values()]
    .sort((a, b) => cmp(a.host, b.host) || cmp(a.sources.join('\0'), b.sources.join('\0')))
    .map(({ host, sources, members }) => ({
      host,
      sources,
      decisions: members.map((i) => decision(entries[i]!.snapshot, empty ? ['no policy given'] : reasons[i]!)),
    }));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function checkInput(policy: RetentionPolicy, now: Date): void {
  checkPolicy(policy);
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw invalidRetention('planRetention needs a valid `now`.', 'Pass clock.now().', { now: String(now) });
  }
}

/** The rules' reasons for each entry (newest first), before chain safety. */
function ruleReasons(entries: Entry[], policy: RetentionPolicy, now: Date, options: RetentionOptions): string[][] {
  const zone = options.timeZone ?? 'UTC';
  const reasons: string[][] = entries.map(() => []);
  keepCounted(
    entries,
    reasons,
    'last',
    policy.keepLast,
    (e) => e.snapshot.id,
    (_, rank) => `last ${rank}`,
  );
  for (const [rule, field] of BUCKET_RULES) {
    keepCounted(
      entries,
      reasons,
      rule,
      policy[field],
      (e) => bucketOf(rule, new Date(e.ms), zone),
      (key) => `${rule} ${key}`,
    );
  }
  keepWithin(entries, reasons, policy.keepWithinMs, now);
  keepTagged(entries, reasons, policy.keepTags);
  return reasons;
}

function decision(snapshot: RetentionSnapshot, reasons: string[]): RetentionDecision {
  const keep = reasons.length > 0;
  return { id: snapshot.id, time: snapshot.time, keep, reasons: keep ? reasons : ['no rule keeps it'] };
}

function newestFirst(snapshots: readonly RetentionSnapshot[]): Entry[] {
  const seen = new Set<string>();
  const entries = snapshots.map((snapshot) => {
    const ms = ISO_TIME.test(snapshot.time) ? Date.parse(snapshot.time) : Number.NaN;
    if (Number.isNaN(ms)) {
      throw invalidRetention(
        `snapshot ${snapshot.id} has time ${JSON.stringify(snapshot.time)}: expected an ISO 8601 time with a zone.`,
        'Check the snapshot metadata; nothing was planned.',
        {
          id: snapshot.id,
          time: snapshot.time,
        },
      );
    }
    // Duplicate ids would make "keep X" ambiguous, so refuse rather than guess.
    if (seen.has(snapshot.id)) {
      throw invalidRetention(
        `snapshot id ${snapshot.id} appears twice.`,
        'List each snapshot once; nothing was planned.',
        { id: snapshot.id },
      );
    }
    seen.add(snapshot.id);
    return { snapshot, ms };
  });
  // Ties broken by id so the plan never depends on listing order.
  return entries.sort((a, b) => b.ms - a.ms || (a.snapshot.id < b.snapshot.id ? 1 : -1));
}

/** keep_last and the calendar rules: the newest snapshot of each distinct bucket, until `count` buckets. */
function keepCounted(
  entries: Entry[],
  reasons: string[][],
  rule: string,
  count: number | undefined,
  bucket: (e: Entry) => string,
  label: (key: string, rank: number) => string,
): void {
  if (!count) return;
  const seen = new Set<string>();
  let lastKept = -1;
  for (const [i, entry] of entries.entries()) {
    const key = bucket(entry);
    if (seen.has(key)) continue;
    if (seen.size === count) break;
    seen.add(key);
    reasons[i]!.push(label(key, seen.size));
    lastKept = i;
  }
  // As restic ≥ 0.17: a rule that found fewer buckets than it wants also keeps the oldest snapshot, so history reaches
  // back as far as it can.
  const oldest = entries.length - 1;
  if (seen.size < count && oldest >= 0 && lastKept !== oldest)
    reasons[oldest]!.push(`oldest (${rule} found ${seen.size} of ${count})`);
}

/** Everything newer than (newest snapshot − duration); snapshots dated after `now` do not move the anchor. */
function keepWithin(entries: Entry[], reasons: string[][], withinMs: number | undefined, now: Date): void {
  if (!withinMs) return;
  // Relative to the newest snapshot, not now (as restic): if backups stop, the last good ones stay.
  const anchor = entries.find((e) => e.ms <= now.getTime())?.ms ?? now.getTime();
  const label = `within ${durationLabel(withinMs)}`;
  entries.forEach((entry, i) => {
    if (entry.ms > anchor - withinMs) reasons[i]!.push(label);
  });
}

function keepTagged(entries: Entry[], reasons: string[][], tags: string[] | undefined): void {
  const wanted = [...new Set(tags ?? [])];
  entries.forEach((entry, i) => {
    for (const tag of wanted) if (entry.snapshot.tags.includes(tag)) reasons[i]!.push(`tag ${tag}`);
  });
}
