import { describe, expect, it } from 'vitest';
import {
  formatRetention as formatFromPackage,
  planRetention as planFromPackage,
  retentionPolicyFromConfig as policyFromPackage,
} from '@drkit/backup-core';
import {
  formatRetention,
  formatRetentionGroups,
  planRetention,
  planRetentionGroups,
  type RetentionDecision,
  type RetentionPolicy,
  retentionPolicyFromConfig,
  type RetentionSnapshot,
} from '../src/retention/index.js';

// A fixed clock: nothing here reads the real time.
const NOW = new Date('2026-12-01T00:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** `20261120T140000Z-000000`, the repository's id shape, deterministic. */
function idAt(time: string, n = 0): string {
  return `${new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-${n.toString(16).padStart(6, '0')}`;
}

function snap(time: string, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot {
  const iso = new Date(time).toISOString();
  return { id: idAt(iso), time: iso, tags: [], kind: 'full', ...extra };
}

const keptTimes = (decisions: RetentionDecision[]) => decisions.filter((d) => d.keep).map((d) => d.time.slice(0, 16));
const reasonsOf = (decisions: RetentionDecision[], time: string) =>
  decisions.find((d) => d.time === new Date(time).toISOString())!.reasons;

/** Toy stand-in for @drkit/config's parseDuration (backup-core does not depend on config). */
function parseDays(text: string): number {
  const match = /^(\d+)d$/.exec(text);
  if (!match) throw new Error(`bad duration ${text}`);
  return Number(match[1]) * DAY;
}

describe('planRetention: empty policy', () => {
  const snapshots = [snap('2026-11-01T00:00Z'), snap('2026-11-02T00:00Z'), snap('2026-11-03T00:00Z')];

  it.each<[string, RetentionPolicy]>([
    ['no rule', {}],
    [
      'all counts 0',
      { keepLast: 0, keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0, keepWithinMs: 0 },
    ],
    ['no tags', { keepTags: [] }],
  ])('keeps every snapshot with "no policy given" (%s) rather than planning to remove them all', (_, policy) => {
    const decisions = planRetention(snapshots, policy, NOW);
    expect(decisions.map((d) => [d.time.slice(0, 10), d.keep, d.reasons])).toEqual([
      ['2026-11-03', true, ['no policy given']],
      ['2026-11-02', true, ['no policy given']],
      ['2026-11-01', true, ['no policy given']],
    ]);
  });

  it('plans nothing for no snapshots', () => {
    expect(planRetention([], {}, NOW)).toEqual([]);
    expect(planRetention([], { keepLast: 3 }, NOW)).toEqual([]);
  });
});

describe('planRetention: each rule alone', () => {
  it('keep_last keeps the N newest, ranks them, sorts newest first whatever the input order', () => {
    const times = [
      '2026-11-03T00:00Z',
      '2026-11-01T00:00Z',
      '2026-11-05T00:00Z',
      '2026-11-02T00:00Z',
      '2026-11-04T00:00Z',
    ];
    const decisions = planRetention(
      times.map((t) => snap(t)),
      { keepLast: 3 },
      NOW,
    );
    expect(decisions.map((d) => [d.time.slice(0, 10), d.reasons])).toEqual([
      ['2026-11-05', ['last 1']],
      ['2026-11-04', ['last 2']],
      ['2026-11-03', ['last 3']],
      ['2026-11-02', ['no rule keeps it']],
      ['2026-11-01', ['no rule keeps it']],
    ]);
  });

  it('keep_hourly keeps the newest snapshot of each hour (restic-like busy day)', () => {
    const day = ['10:23:03', '11:23:03', '12:23:03', '12:24:03', '12:28:03', '12:30:03', '16:23:03'].map((t) =>
      snap(`2026-01-04T${t}Z`),
    );
    const decisions = planRetention([snap('2026-01-03T07:02:03Z'), ...day], { keepHourly: 4 }, NOW);
    expect(keptTimes(decisions)).toEqual([
      '2026-01-04T16:23',
      '2026-01-04T12:30',
      '2026-01-04T11:23',
      '2026-01-04T10:23',
    ]);
    expect(reasonsOf(decisions, '2026-01-04T12:30:03Z')).toEqual(['hourly 2026-01-04 12:00']);
    expect(reasonsOf(decisions, '2026-01-04T12:28:03Z')).toEqual(['no rule keeps it']);
  });

  it('keep_daily buckets by UTC day by default', () => {
    const snapshots = [
      '2026-11-18T23:59Z',
      '2026-11-19T00:01Z',
      '2026-11-19T20:00Z',
      '2026-11-20T03:00Z',
      '2026-11-20T10:00Z',
    ].map((t) => snap(t));
    const decisions = planRetention(snapshots, { keepDaily: 2 }, NOW);
    expect(keptTimes(decisions)).toEqual(['2026-11-20T10:00', '2026-11-19T20:00']);
    expect(reasonsOf(decisions, '2026-11-19T20:00Z')).toEqual(['daily 2026-11-19']);
  });

  it('keep_daily with timeZone local uses the calendar of the process zone', () => {
    const previous = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      // 03:00Z on Nov 20 is 22:00 on Nov 19 in New York.
      const snapshots = ['2026-11-19T20:00Z', '2026-11-20T03:00Z', '2026-11-20T10:00Z'].map((t) => snap(t));
      const local = planRetention(snapshots, { keepDaily: 2 }, NOW, { timeZone: 'local' });
      expect(keptTimes(local)).toEqual(['2026-11-20T10:00', '2026-11-20T03:00']);
      expect(reasonsOf(local, '2026-11-20T03:00Z')).toEqual(['daily 2026-11-19']);
      const utc = planRetention(snapshots, { keepDaily: 2 }, NOW);
      expect(keptTimes(utc)).toEqual(['2026-11-20T10:00', '2026-11-19T20:00']);
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });

  it('keep_weekly uses ISO weeks (Monday start; the first days of January can belong to the previous year)', () => {
    const snapshots = [
      '2026-12-20T12:00Z',
      '2026-12-28T12:00Z',
      '2027-01-01T12:00Z',
      '2027-01-03T12:00Z',
      '2027-01-04T12:00Z',
    ].map((t) => snap(t));
    const decisions = planRetention(snapshots, { keepWeekly: 3 }, new Date('2027-02-01T00:00Z'));
    expect(decisions.filter((d) => d.keep).map((d) => [d.time.slice(0, 10), d.reasons])).toEqual([
      ['2027-01-04', ['weekly 2027-W01']],
      ['2027-01-03', ['weekly 2026-W53']],
      ['2026-12-20', ['weekly 2026-W51']],
    ]);
  });

  it('keep_monthly and keep_yearly keep the newest of each month and year', () => {
    const snapshots = [
      '2024-06-10',
      '2025-03-01',
      '2025-03-31',
      '2025-12-31',
      '2026-01-01',
      '2026-01-15',
      '2026-02-01',
    ].map((d) => snap(`${d}T12:00Z`));
    const monthly = planRetention(snapshots, { keepMonthly: 3 }, NOW);
    expect(monthly.filter((d) => d.keep).map((d) => [d.time.slice(0, 10), d.reasons])).toEqual([
      ['2026-02-01', ['monthly 2026-02']],
      ['2026-01-15', ['monthly 2026-01']],
      ['2025-12-31', ['monthly 2025-12']],
    ]);
    const yearly = planRetention(snapshots, { keepYearly: 2 }, NOW);
    expect(yearly.filter((d) => d.keep).map((d) => [d.time.slice(0, 10), d.reasons])).toEqual([
      ['2026-02-01', ['yearly 2026']],
      ['2025-12-31', ['yearly 2025']],
    ]);
  });

  it('a bucket rule that finds fewer buckets than it wants also keeps the oldest snapshot (restic ≥ 0.17)', () => {
    const snapshots = ['2026-10-01', '2026-10-20', '2026-11-10', '2026-11-20'].map((d) => snap(`${d}T12:00Z`));
    const decisions = planRetention(snapshots, { keepMonthly: 6 }, NOW);
    expect(decisions.map((d) => [d.time.slice(0, 10), d.reasons])).toEqual([
      ['2026-11-20', ['monthly 2026-11']],
      ['2026-11-10', ['no rule keeps it']],
      ['2026-10-20', ['monthly 2026-10']],
      ['2026-10-01', ['oldest (monthly found 2 of 6)']],
    ]);
    // When the count is reached, the oldest gets no special treatment.
    expect(keptTimes(planRetention(snapshots, { keepMonthly: 2 }, NOW))).toEqual([
      '2026-11-20T12:00',
      '2026-10-20T12:00',
    ]);
  });

  it('keep_within is measured from the newest snapshot, not from now, so stopped backups are not aged out', () => {
    // Backups stopped on Oct 1; two months later the last good ones must still be there.
    const snapshots = ['2026-08-15', '2026-09-01', '2026-09-02', '2026-09-20', '2026-10-01'].map((d) =>
      snap(`${d}T00:00Z`),
    );
    const decisions = planRetention(snapshots, { keepWithinMs: 30 * DAY }, NOW);
    // Sep 1 00:00 is exactly 30 days before the newest: the window is strictly newer, as in restic.
    expect(keptTimes(decisions)).toEqual(['2026-10-01T00:00', '2026-09-20T00:00', '2026-09-02T00:00']);
    expect(reasonsOf(decisions, '2026-09-02T00:00Z')).toEqual(['within 30d']);
  });

  it(
    'keep_within ignores snapshots dated after now when choosing the newest (a skewed clock cannot age out ' +
      'real ones)',
    () => {
      const snapshots = ['2026-10-01', '2026-11-20', '2027-06-01'].map((d) => snap(`${d}T00:00Z`));
      const decisions = planRetention(snapshots, { keepWithinMs: 60 * DAY }, NOW);
      expect(keptTimes(decisions)).toEqual(['2027-06-01T00:00', '2026-11-20T00:00', '2026-10-01T00:00']);
      expect(reasonsOf(decisions, '2026-10-01T00:00Z')).toEqual(['within 60d']);
    },
  );

  it('keep_within writes odd durations in the config units', () => {
    const decisions = planRetention([snap('2026-11-20T00:00Z')], { keepWithinMs: 36 * HOUR + 30 * 60_000 }, NOW);
    expect(decisions[0]!.reasons).toEqual(['within 1d12h30m']);
  });

  it('keep_tags keeps snapshots having any of the tags, naming each tag that matched', () => {
    const snapshots = [
      snap('2026-11-01T00:00Z', { tags: ['clean'] }),
      snap('2026-11-02T00:00Z', { tags: ['hourly'] }),
      snap('2026-11-03T00:00Z', { tags: ['release', 'clean'] }),
      snap('2026-11-04T00:00Z', { tags: ['Clean'] }),
      snap('2026-11-05T00:00Z'),
    ];
    const decisions = planRetention(snapshots, { keepTags: ['clean', 'release'] }, NOW);
    expect(decisions.map((d) => [d.time.slice(0, 10), d.reasons])).toEqual([
      ['2026-11-05', ['no rule keeps it']],
      ['2026-11-04', ['no rule keeps it']],
      ['2026-11-03', ['tag clean', 'tag release']],
      ['2026-11-02', ['no rule keeps it']],
      ['2026-11-01', ['tag clean']],
    ]);
  });
});

describe('planRetention: combined rules', () => {
  it('lists every rule that keeps a snapshot, in rule order', () => {
    const snapshots = [
      snap('2026-11-18T09:00Z'),
      snap('2026-11-19T09:00Z', { tags: ['clean'] }),
      snap('2026-11-20T08:00Z'),
      snap('2026-11-20T09:00Z', { tags: ['clean'] }),
    ];
    const policy: RetentionPolicy = {
      keepLast: 2,
      keepHourly: 1,
      keepDaily: 3,
      keepWithinMs: DAY,
      keepTags: ['clean'],
    };
    const decisions = planRetention(snapshots, policy, NOW);
    expect(decisions.map((d) => [d.time.slice(0, 13), d.reasons])).toEqual([
      ['2026-11-20T09', ['last 1', 'hourly 2026-11-20 09:00', 'daily 2026-11-20', 'within 1d', 'tag clean']],
      ['2026-11-20T08', ['last 2', 'within 1d']],
      ['2026-11-19T09', ['daily 2026-11-19', 'tag clean']],
      ['2026-11-18T09', ['daily 2026-11-18']],
    ]);
  });

  it('restic-like: daily snapshots for three years under keep-daily 7, weekly 5, monthly 12, yearly 75', () => {
    const snapshots: RetentionSnapshot[] = [];
    for (let t = Date.parse('2024-01-01T12:00Z'); t <= Date.parse('2026-11-20T12:00Z'); t += DAY)
      snapshots.push(snap(new Date(t).toISOString()));
    const decisions = planRetention(snapshots, { keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 75 }, NOW);
    expect(decisions.filter((d) => d.keep).map((d) => d.time.slice(0, 10))).toEqual([
      // 7 days, then Sundays closing ISO weeks 46, 45, 44 and 43.
      '2026-11-20',
      '2026-11-19',
      '2026-11-18',
      '2026-11-17',
      '2026-11-16',
      '2026-11-15',
      '2026-11-14',
      '2026-11-08',
      '2026-11-01',
      '2026-10-31',
      '2026-10-25',
      // Month ends back to December 2025 (12 months), which is also 2025's yearly.
      '2026-09-30',
      '2026-08-31',
      '2026-07-31',
      '2026-06-30',
      '2026-05-31',
      '2026-04-30',
      '2026-03-31',
      '2026-02-28',
      '2026-01-31',
      '2025-12-31',
      // Yearly for 2024, and the oldest because only 3 of 75 years exist.
      '2024-12-31',
      '2024-01-01',
    ]);
    expect(reasonsOf(decisions, '2026-11-20T12:00Z')).toEqual([
      'daily 2026-11-20',
      'weekly 2026-W47',
      'monthly 2026-11',
      'yearly 2026',
    ]);
    expect(reasonsOf(decisions, '2026-11-15T12:00Z')).toEqual(['daily 2026-11-15', 'weekly 2026-W46']);
    expect(reasonsOf(decisions, '2025-12-31T12:00Z')).toEqual(['monthly 2025-12', 'yearly 2025']);
    expect(reasonsOf(decisions, '2024-01-01T12:00Z')).toEqual(['oldest (yearly found 3 of 75)']);
    expect(decisions.filter((d) => !d.keep).every((d) => d.reasons.join() === 'no rule keeps it')).toBe(true);
  });

  it('does not depend on input order and does not change its input', () => {
    const snapshots = ['2026-11-01', '2026-11-09', '2026-11-10', '2026-11-20'].map((d) =>
      snap(`${d}T00:00Z`, { tags: ['a'] }),
    );
    const copy = structuredClone(snapshots);
    const policy: RetentionPolicy = { keepLast: 1, keepWeekly: 2 };
    const forward = planRetention(snapshots, policy, NOW);
    expect(planRetention([...snapshots].reverse(), policy, NOW)).toEqual(forward);
    expect(snapshots).toEqual(copy);
  });

  it('breaks ties between equal times by id so plans are stable', () => {
    const a = { ...snap('2026-11-20T00:00Z'), id: 'a' };
    const b = { ...snap('2026-11-20T00:00Z'), id: 'b' };
    expect(planRetention([a, b], { keepLast: 1 }, NOW).map((d) => [d.id, d.keep])).toEqual([
      ['b', true],
      ['a', false],
    ]);
  });
});

describe('planRetention: chain safety', () => {
  // F ← I1 ← I2 ← I3 (parent arrows), all with base F.
  const F = snap('2026-11-16T00:00Z');
  const I1 = snap('2026-11-17T00:00Z', { kind: 'incremental', parent: F.id, base: F.id });
  const I2 = snap('2026-11-18T00:00Z', { kind: 'incremental', parent: I1.id, base: F.id });
  const I3 = snap('2026-11-19T00:00Z', { kind: 'incremental', parent: I2.id, base: F.id });
  const F2 = snap('2026-11-20T00:00Z');

  it('keeps every parent (transitively) and the base of a kept incremental, naming the newest kept dependent', () => {
    const decisions = planRetention([F, I1, I2, I3], { keepLast: 1 }, NOW);
    expect(decisions.map((d) => [d.id, d.reasons])).toEqual([
      [I3.id, ['last 1']],
      [I2.id, [`needed by kept incremental ${I3.id}`]],
      [I1.id, [`needed by kept incremental ${I2.id}`]],
      [F.id, [`needed by kept incremental ${I3.id}`]],
    ]);
  });

  it('adds the chain reason to snapshots a rule keeps anyway', () => {
    const decisions = planRetention([F, I1, I2, I3], { keepLast: 1, keepDaily: 4 }, NOW);
    expect(reasonsOf(decisions, '2026-11-16T00:00Z')).toEqual([
      'daily 2026-11-16',
      `needed by kept incremental ${I3.id}`,
    ]);
  });

  it('lets a whole chain go when nothing in it is kept', () => {
    const decisions = planRetention([F, I1, I2, I3, F2], { keepLast: 1 }, NOW);
    expect(decisions.map((d) => d.keep)).toEqual([true, false, false, false, false]);
  });

  it('keeps the base even when the parent chain is broken', () => {
    const orphan = snap('2026-11-19T00:00Z', { kind: 'incremental', parent: 'gone', base: F.id });
    const decisions = planRetention([F, orphan], { keepLast: 1 }, NOW);
    expect(decisions.map((d) => [d.id, d.reasons])).toEqual([
      [orphan.id, ['last 1']],
      [F.id, [`needed by kept incremental ${orphan.id}`]],
    ]);
  });

  it('plans a snapshot whose parent is already gone like any other', () => {
    const orphan = snap('2026-11-18T00:00Z', { kind: 'incremental', parent: 'gone', base: 'gone-too' });
    expect(planRetention([orphan, F2], { keepLast: 1 }, NOW).map((d) => [d.id, d.reasons])).toEqual([
      [F2.id, ['last 1']],
      [orphan.id, ['no rule keeps it']],
    ]);
    expect(planRetention([orphan, F2], { keepLast: 2 }, NOW).every((d) => d.keep)).toBe(true);
  });

  it('follows dependencies even when a skewed clock dates a parent after its child, and survives cycles', () => {
    const child = snap('2026-11-18T00:00Z', { kind: 'incremental', parent: 'p' });
    const parent = { ...snap('2026-11-19T00:00Z', { kind: 'incremental', parent: child.id }), id: 'p' };
    const newest = snap('2026-11-20T00:00Z', { kind: 'incremental', parent: child.id, base: 'self' });
    const self = { ...snap('2026-11-01T00:00Z', { kind: 'incremental', parent: 'self' }), id: 'self' };
    const decisions = planRetention([child, parent, newest, self], { keepLast: 1 }, NOW);
    expect(decisions.map((d) => [d.id, d.reasons])).toEqual([
      [newest.id, ['last 1']],
      ['p', [`needed by kept incremental ${child.id}`]],
      [child.id, [`needed by kept incremental ${newest.id}`]],
      ['self', [`needed by kept incremental ${newest.id}`]],
    ]);
  });
});

/**
 * 90 days of hourly backups at HH:30 from Monday 2026-06-01: a full every Monday 00:30 (so each
 * ISO week is one chain), incrementals with parent = previous snapshot and base = that week's full.
 */
function ninetyDays(): RetentionSnapshot[] {
  const start = Date.parse('2026-06-01T00:30:00Z');
  const snapshots: RetentionSnapshot[] = [];
  let full = '';
  for (let i = 0; i < 90 * 24; i++) {
    const time = new Date(start + i * HOUR).toISOString();
    const id = idAt(time, i);
    if (i % (7 * 24) === 0) {
      full = id;
      snapshots.push({ id, time, tags: [], kind: 'full' });
    } else {
      snapshots.push({ id, time, tags: [], kind: 'incremental', parent: snapshots[i - 1]!.id, base: full });
    }
  }
  return snapshots;
}

function expectChainsIntact(snapshots: RetentionSnapshot[], decisions: RetentionDecision[]): void {
  const keep = new Map(decisions.map((d) => [d.id, d.keep]));
  for (const s of snapshots) {
    if (!keep.get(s.id)) continue;
    if (s.parent !== undefined) expect(keep.get(s.parent), `parent of kept ${s.id}`).toBe(true);
    if (s.base !== undefined) expect(keep.get(s.base), `base of kept ${s.id}`).toBe(true);
  }
}

describe('planRetention: 90 days of hourly backups with a weekly full', () => {
  const snapshots = ninetyDays();
  const policy: RetentionPolicy = {
    keepHourly: 24,
    keepDaily: 7,
    keepWeekly: 4,
    keepMonthly: 6,
    keepWithinMs: 30 * DAY,
  };
  const decisions = planRetention(snapshots, policy, new Date('2026-08-30T00:00:00Z'));
  const at = (time: string) => decisions.find((d) => d.time === time)!;

  it('keeps exactly the rule picks plus the chains they need', () => {
    // Rules: 720 within 30d of Aug 29 23:30 (hourly/daily/weekly all fall inside), monthly Jun 30 23:30,
    // and the oldest (monthly found 3 of 6). Chains: Jul 27 00:30–Jul 30 23:30 (96) for Jul 31 00:30,
    // and Jun 29 00:30–Jun 30 22:30 (47) for Jun 30 23:30. 720 + 2 + 96 + 47 = 865.
    expect(decisions).toHaveLength(2160);
    expect(decisions.filter((d) => d.keep)).toHaveLength(865);
    const expected = (time: string) =>
      time >= '2026-07-27T00:30' ||
      (time >= '2026-06-29T00:30' && time <= '2026-06-30T23:59') ||
      time.startsWith('2026-06-01T00:30');
    expect(decisions.filter((d) => d.keep !== expected(d.time)).map((d) => d.time)).toEqual([]);
    const byRules = decisions.filter((d) => d.reasons.some((r) => !r.startsWith('needed by')) && d.keep);
    expect(byRules).toHaveLength(722);
  });

  it('never keeps an incremental whose parent or base is removed, and gives every decision a reason', () => {
    expectChainsIntact(snapshots, decisions);
    for (const d of decisions) {
      expect(d.reasons.length, d.time).toBeGreaterThan(0);
      if (!d.keep) expect(d.reasons).toEqual(['no rule keeps it']);
    }
    expect(decisions.map((d) => d.time)).toEqual(snapshots.map((s) => s.time).reverse());
  });

  it('explains each kind of keep', () => {
    expect(at('2026-08-29T23:30:00.000Z').reasons).toEqual([
      'hourly 2026-08-29 23:00',
      'daily 2026-08-29',
      'weekly 2026-W35',
      'monthly 2026-08',
      'within 30d',
    ]);
    expect(at('2026-08-29T00:30:00.000Z').reasons).toEqual([
      'hourly 2026-08-29 00:00',
      'within 30d',
      `needed by kept incremental ${at('2026-08-29T01:30:00.000Z').id}`,
    ]);
    expect(at('2026-06-30T23:30:00.000Z').reasons).toEqual(['monthly 2026-06']);
    expect(at('2026-06-01T00:30:00.000Z').reasons).toEqual(['oldest (monthly found 3 of 6)']);
    // Kept only for the chain: without chain safety, Jul 31 00:30 would lose its parent.
    expect(at('2026-07-30T23:30:00.000Z').reasons).toEqual([
      `needed by kept incremental ${at('2026-07-31T00:30:00.000Z').id}`,
    ]);
    expect(at('2026-07-27T00:30:00.000Z').reasons).toEqual([
      `needed by kept incremental ${at('2026-08-02T23:30:00.000Z').id}`,
    ]);
    expect(at('2026-07-26T23:30:00.000Z').reasons).toEqual(['no rule keeps it']);
  });
});

describe('retentionPolicyFromConfig', () => {
  it('maps the restic names and converts keep_within with the injected parser', () => {
    expect(
      retentionPolicyFromConfig(
        {
          keep_last: 7,
          keep_hourly: 24,
          keep_daily: 7,
          keep_weekly: 4,
          keep_monthly: 12,
          keep_yearly: 1,
          keep_within: '30d',
          keep_tags: ['clean'],
        },
        parseDays,
      ),
    ).toEqual({
      keepLast: 7,
      keepHourly: 24,
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
      keepYearly: 1,
      keepWithinMs: 30 * DAY,
      keepTags: ['clean'],
    });
  });

  it('leaves out rules that are not configured and lets the parser reject bad durations', () => {
    expect(retentionPolicyFromConfig({ keep_daily: 3 }, parseDays)).toEqual({ keepDaily: 3 });
    expect(() => retentionPolicyFromConfig({ keep_within: 'soon' }, parseDays)).toThrow('bad duration soon');
  });
});

describe('planRetention: refuses bad input (nothing planned, nothing removed)', () => {
  const ok = [snap('2026-11-20T00:00Z')];
  it.each<[string, () => unknown]>([
    ['a negative count', () => planRetention(ok, { keepLast: -1 }, NOW)],
    ['a fractional count', () => planRetention(ok, { keepDaily: 1.5 }, NOW)],
    ['a NaN duration', () => planRetention(ok, { keepWithinMs: Number.NaN }, NOW)],
    ['an empty tag', () => planRetention(ok, { keepTags: [''] }, NOW)],
    ['a time without a zone', () => planRetention([{ ...ok[0]!, time: '2026-11-20T00:00:00' }], { keepLast: 1 }, NOW)],
    ['a time that is not a time', () => planRetention([{ ...ok[0]!, time: 'yesterday' }], { keepLast: 1 }, NOW)],
    ['a duplicate id', () => planRetention([ok[0]!, { ...ok[0]! }], { keepLast: 1 }, NOW)],
    ['an invalid now', () => planRetention(ok, { keepLast: 1 }, new Date('nope'))],
  ])('%s', (_, run) => {
    expect(run).toThrow(expect.objectContaining({ code: 'BACKUP_RETENTION_INVALID', name: 'RetentionError' }));
  });

  it('accepts times with an offset and buckets them by the instant', () => {
    const decisions = planRetention([{ ...ok[0]!, time: '2026-11-20T01:00:00+02:00' }], { keepDaily: 1 }, NOW);
    expect(decisions[0]!.reasons).toEqual(['daily 2026-11-19']);
  });
});

describe('planRetentionGroups: one plan per host and source set', () => {
  const on = (host: string, sources: string[], time: string, n: number, extra: Partial<RetentionSnapshot> = {}) => ({
    ...snap(time, extra),
    id: idAt(time, n),
    host,
    sources,
  });

  it("never removes a host's or a source set's snapshots because newer ones exist elsewhere", () => {
    const snapshots = [
      on('app-1', ['data'], '2026-11-01T00:00Z', 1),
      on('app-1', ['data'], '2026-11-02T00:00Z', 2),
      // app-2 backs up hourly and is newer: under one plan it would push app-1 out entirely.
      ...Array.from({ length: 5 }, (_, i) => on('app-2', ['data'], `2026-11-20T0${i}:00Z`, 10 + i)),
      // Same host, another source set (listed in another order: still one group).
      on('app-1', ['data', 'config'], '2026-11-03T00:00Z', 20),
      on('app-1', ['config', 'data'], '2026-11-04T00:00Z', 21),
    ];
    const groups = planRetentionGroups(snapshots, { keepLast: 1, keepWithinMs: 2 * HOUR }, NOW);
    expect(groups.map((g) => [g.host, g.sources, g.decisions.map((d) => [d.time.slice(5, 13), d.keep])])).toEqual([
      [
        'app-1',
        ['config', 'data'],
        [
          ['11-04T00', true],
          ['11-03T00', false],
        ],
      ],
      [
        'app-1',
        ['data'],
        [
          ['11-02T00', true],
          ['11-01T00', false],
        ],
      ],
      [
        'app-2',
        ['data'],
        [
          ['11-20T04', true],
          ['11-20T03', true],
          ['11-20T02', false],
          ['11-20T01', false],
          ['11-20T00', false],
        ],
      ],
    ]);
    // keep_within counts back from each group's own newest snapshot.
    expect(groups[1]!.decisions[0]!.reasons).toEqual(['last 1', 'within 2h']);
    expect(planRetention(snapshots, { keepLast: 1, keepWithinMs: 2 * HOUR }, NOW).filter((d) => d.keep)).toHaveLength(
      2,
    );
  });

  it(
    'keeps what a kept incremental needs even in another ' + 'group (chains made before parents stayed in their group)',
    () => {
      const full = on('app-1', ['config', 'data'], '2026-11-01T00:00Z', 1);
      const inc = on('app-1', ['data'], '2026-11-02T00:00Z', 2, {
        kind: 'incremental',
        parent: full.id,
        base: full.id,
      });
      const newerFull = on('app-1', ['config', 'data'], '2026-11-03T00:00Z', 3);
      const groups = planRetentionGroups([full, inc, newerFull], { keepLast: 1 }, NOW);
      const byId = new Map(groups.flatMap((g) => g.decisions).map((d) => [d.id, d]));
      expect(byId.get(full.id)).toMatchObject({ keep: true, reasons: [`needed by kept incremental ${inc.id}`] });
      expect(byId.get(inc.id)?.keep).toBe(true);
    },
  );

  it('keeps everything under an empty policy, and refuses bad input like planRetention', () => {
    const groups = planRetentionGroups(
      [on('a', ['x'], '2026-11-01T00:00Z', 1), on('b', ['x'], '2026-11-01T00:00Z', 2)],
      {},
      NOW,
    );
    expect(groups.flatMap((g) => g.decisions.map((d) => d.reasons))).toEqual([
      ['no policy given'],
      ['no policy given'],
    ]);
    expect(() => planRetentionGroups([], { keepLast: -1 }, NOW)).toThrow(/keepLast/);
  });

  it('prints each group under a line naming its host and sources', () => {
    const text = formatRetentionGroups([
      {
        host: 'app-1',
        sources: ['config', 'data'],
        decisions: [{ id: 'b2', time: '2026-11-20T00:00:00.000Z', keep: true, reasons: ['last 1'] }],
      },
      {
        host: 'app-2',
        sources: ['data'],
        decisions: [{ id: 'c3', time: '2026-11-19T00:00:00.000Z', keep: false, reasons: ['no rule keeps it'] }],
      },
    ]);
    expect(text).toBe(
      [
        'host app-1, sources config, data:',
        'keep  b2  2026-11-20T00:00:00.000Z  last 1',
        '',
        'host app-2, sources data:',
        'remove  c3  2026-11-19T00:00:00.000Z  no rule keeps it',
      ].join('\n'),
    );
  });
});

describe('formatRetention', () => {
  it('prints one aligned line per snapshot: action, id, time, reasons', () => {
    const decisions: RetentionDecision[] = [
      { id: 'b2', time: '2026-11-20T00:00:00.000Z', keep: true, reasons: ['last 1', 'daily 2026-11-20'] },
      { id: 'a1-long', time: '2026-11-19T00:00:00Z', keep: false, reasons: ['no rule keeps it'] },
    ];
    expect(formatRetention(decisions)).toBe(
      [
        'keep    b2       2026-11-20T00:00:00.000Z  last 1, daily 2026-11-20',
        'remove  a1-long  2026-11-19T00:00:00Z      no rule keeps it',
      ].join('\n'),
    );
    expect(formatRetention([])).toBe('');
  });
});

describe('@drkit/backup-core (built package)', () => {
  it('exports the planner: config block → policy → plan → table', () => {
    const snapshots = ninetyDays();
    const policy = policyFromPackage(
      { keep_hourly: 24, keep_daily: 7, keep_weekly: 4, keep_monthly: 6, keep_within: '30d' },
      parseDays,
    );
    const decisions = planFromPackage(snapshots, policy, new Date('2026-08-30T00:00:00Z'));
    expect(decisions.filter((d) => d.keep)).toHaveLength(865);
    expectChainsIntact(snapshots, decisions);
    const lines = formatFromPackage(decisions).split('\n');
    expect(lines).toHaveLength(2160);
    expect(lines[0]).toMatch(
      /^keep {4}20260829T233000Z-00086f {2}2026-08-29T23:30:00\.000Z {2}hourly 2026-08-29 23:00, /,
    );
    expect(lines.at(-1)).toBe(
      'keep    20260601T003000Z-000000  2026-06-01T00:30:00.000Z  oldest (monthly found 3 of 6)',
    );
  });
});
