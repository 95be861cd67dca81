import { invalidRetention } from './errors.js';

/** Which snapshots to keep; a rule that is absent, 0 or empty is not applied (restic's meaning). */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep every snapshot newer than (newest snapshot − this many ms). */
  keepWithinMs?: number;
  /** Keep every snapshot that has any of these tags. */
  keepTags?: string[];
}

/** The `retention` block of drkit.config.yaml, structurally (backup-core does not depend on config). */
export interface RetentionConfigInput {
  keep_last?: number;
  keep_hourly?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  keep_yearly?: number;
  keep_within?: string;
  keep_tags?: string[];
}

export const COUNT_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
export type CountRule = (typeof COUNT_RULES)[number];

/**
 * Maps the config block to a policy. `parseDuration` is injected (pass `parseDuration` from
 * @drkit/config) so the duration grammar has one owner.
 */
export function retentionPolicyFromConfig(
  cfg: RetentionConfigInput,
  parseDuration: (text: string) => number,
): RetentionPolicy {
  const policy: RetentionPolicy = {};
  if (cfg.keep_last !== undefined) policy.keepLast = cfg.keep_last;
  if (cfg.keep_hourly !== undefined) policy.keepHourly = cfg.keep_hourly;
  if (cfg.keep_daily !== undefined) policy.keepDaily = cfg.keep_daily;
  if (cfg.keep_weekly !== undefined) policy.keepWeekly = cfg.keep_weekly;
  if (cfg.keep_monthly !== undefined) policy.keepMonthly = cfg.keep_monthly;
  if (cfg.keep_yearly !== undefined) policy.keepYearly = cfg.keep_yearly;
  if (cfg.keep_within !== undefined) policy.keepWithinMs = parseDuration(cfg.keep_within);
  if (cfg.keep_tags !== undefined) policy.keepTags = [...cfg.keep_tags];
  return policy;
}

/** Throws BACKUP_RETENTION_INVALID for counts or durations that are not whole numbers ≥ 0. */
export function checkPolicy(policy: RetentionPolicy): void {
  for (const rule of COUNT_RULES) {
    const value = policy[rule];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw invalidRetention(
        `retention rule ${rule} is ${String(value)}: expected a whole number ≥ 0.`,
        'Give each keep rule a whole number, or leave it out.',
        {
          rule,
          value,
        },
      );
    }
  }
  const within = policy.keepWithinMs;
  if (within !== undefined && !(Number.isSafeInteger(within) && within >= 0)) {
    throw invalidRetention(
      `retention rule keepWithinMs is ${String(within)}: expected whole milliseconds ≥ 0.`,
      'Pass a duration such as 30d through parseDuration.',
      {
        rule: 'keepWithinMs',
        value: within,
      },
    );
  }
  if (policy.keepTags !== undefined && !policy.keepTags.every((tag) => typeof tag === 'string' && tag !== '')) {
    throw invalidRetention(
      'retention rule keepTags must be a list of non-empty tags.',
      'Remove empty or non-text tags from keep_tags.',
      {
        rule: 'keepTags',
        value: policy.keepTags,
      },
    );
  }
}

/** True when no rule would keep anything: planning removals from it would delete every snapshot. */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return COUNT_RULES.every((rule) => !policy[rule]) && !policy.keepWithinMs && !policy.keepTags?.length;
}

const LABEL_UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

/** `30d`, `1d12h`, `90m` → `1h30m`: the duration in the config's own units, for reasons. */
export function durationLabel(ms: number): string {
  let rest = ms;
  let label = '';
  for (const [unit, size] of LABEL_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) label += `${count}${unit}`;
    rest -= count * size;
  }
  return label || '0ms';
}
