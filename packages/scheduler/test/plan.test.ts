import { parseConfigText } from '@drkit/config';
import { type RunningRedis, startRedis } from '@drkit/test-support';
import { RedisStateStore, type StateStore } from '@drkit/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../notify/test/support/fake-clock.js';
import { type Executor, type Job, type JobOutcome, planFromConfig, type RunRecord, Scheduler } from '../src/index.js';

// Year-long runs on a fake clock: the scheduling is real (croner, the loop, the state store),
// the jobs are not run (each "drkit" call returns at once, or when the test says).
let redis: RunningRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function freshStore(): Promise<StateStore> {
  await redis.client().flushall();
  return RedisStateStore.open(redis.url);
}

/** Waits (on I/O turns, not on time) until the condition holds. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}

const config = (schedule: string) =>
  parseConfigText(`sources: [{ name: data, type: files, path: . }]\n${schedule}`, 'drkit.config.yaml', {});

function localParts(ms: number, zone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    weekday: parts.weekday as string,
  };
}

/** Runs the scheduler from `from` to `to`, jumping from slot to slot; returns every record written. */
async function simulate(
  jobs: Job[],
  store: StateStore,
  clock: FakeClock,
  to: number,
  executor: Executor = async () => ({ result: 'success' }),
): Promise<RunRecord[]> {
  const scheduler = new Scheduler({ jobs, store, executor, clock });
  await scheduler.start();
  for (;;) {
    await scheduler.settled();
    const next = Math.min(...scheduler.nextRuns().flatMap(({ at }) => (at === undefined ? [] : [at])));
    if (next > to) break;
    clock.set(next);
  }
  await scheduler.stop(0);
  return (await scheduler.history.list()).map((r) => r.record);
}

describe('a year of the DR plan', () => {
  for (const zone of ['Europe/Berlin', 'America/New_York']) {
    it(`in ${zone}: every daily slot once, 52 or 53 weekly ` +
      `fulls, hourly every elapsed hour, no duplicate, no gap`, async () => {
      const store = await freshStore();
      const from = Date.parse('2026-01-01T00:00:00Z');
      const to = Date.parse('2027-01-01T00:00:00Z');
      const clock = new FakeClock(from);
      const jobs = planFromConfig(config(`schedule: { timezone: ${zone} }`).schedule);
      const records = await simulate(jobs, store, clock, to);
      await store.close();

      const by = (job: string) => records.filter((r) => r.job === job);
      const keys = records.map((r) => `${r.job}@${r.slot}`);
      expect(new Set(keys).size).toBe(keys.length);

      // Daily 03:00: one run per local day, always at 03:00 local (03:00 exists on every day of both zones).
      const daily = by('daily');
      const days = daily.map((r) => localParts(Date.parse(r.slot), zone));
      expect(new Set(days.map((d) => d.day)).size).toBe(daily.length);
      expect(daily.length).toBeGreaterThanOrEqual(364);
      expect(days.every((d) => d.time === '03:00')).toBe(true);
      // The spring-forward Sunday: the weekly full moves from 02:00 to 03:00 and takes the daily's place.
      const notRun = daily.filter((r) => r.result !== 'success');
      expect(notRun.map((r) => [localParts(Date.parse(r.slot), zone).weekday, r.result, r.reason])).toEqual([
        ['Sun', 'skipped', 'superseded by weekly-full'],
      ]);
      // Retention follows each daily backup, for its slot.
      expect(by('retention').map((r) => r.slot)).toEqual(
        daily.filter((r) => r.result === 'success').map((r) => r.slot),
      );

      // Weekly full, Sunday 02:00: 52 or 53, one per week, on Sundays; on the spring-forward Sunday
      // 02:00 does not exist and it runs at the first instant after (03:00), once.
      const weekly = by('weekly-full');
      expect(weekly.length === 52 || weekly.length === 53).toBe(true);
      const weeklyLocal = weekly.map((r) => localParts(Date.parse(r.slot), zone));
      expect(weeklyLocal.every((d) => d.weekday === 'Sun')).toBe(true);
      expect(new Set(weeklyLocal.map((d) => d.day)).size).toBe(weekly.length);
      for (let i = 1; i < weekly.length; i++) {
        const gap = Date.parse(weekly[i]!.slot) - Date.parse(weekly[i - 1]!.slot);
        expect(gap, `between ${weekly[i - 1]!.slot} and ${weekly[i]!.slot}`).toBeGreaterThanOrEqual(
          7 * 86_400_000 - 3_600_000,
        );
        expect(gap).toBeLessThanOrEqual(7 * 86_400_000 + 3_600_000);
      }
      const skipped = weeklyLocal.filter((d) => d.time !== '02:00');
      expect(skipped.map((d) => d.time)).toEqual(['03:00']);

      // Hourly: one slot per elapsed hour (no gap, none twice); the slots that coincide with the
      // daily or weekly backup are recorded as superseded by them, not run twice.
      const hourly = by('hourly');
      expect(hourly.length).toBe((to - from) / 3_600_000);
      for (let i = 1; i < hourly.length; i++)
        expect(Date.parse(hourly[i]!.slot) - Date.parse(hourly[i - 1]!.slot)).toBe(3_600_000);
      const superseded = hourly.filter((r) => r.result === 'skipped');
      expect(superseded.length).toBe(daily.length + weekly.filter((r) => !daily.some((d) => d.slot === r.slot)).length);
      expect(superseded.every((r) => /^superseded by (daily|weekly-full)$/.test(r.reason ?? ''))).toBe(true);
      // Monthly verification: the 1st at 04:00, twelve times.
      expect(
        by('verify-monthly')
          .map((r) => localParts(Date.parse(r.slot), zone))
          .map((d) => `${d.day.slice(8)} ${d.time}`),
      ).toEqual(Array(12).fill('01 04:00'));
    }, 180_000); // ≈ 10 s alone; a year of slots on a machine busy with other suites takes longer
  }

  it('a repeated hour runs a fixed-time job once (02:30 on the last Sunday of October, Berlin)', async () => {
    const store = await freshStore();
    const clock = new FakeClock(Date.parse('2026-10-24T00:00:00Z'));
    const jobs = planFromConfig(
      config('schedule: { timezone: Europe/Berlin, jobs: [{ name: at-0230, cron: "30 2 * * *", run: verify }] }')
        .schedule,
    );
    const records = await simulate(jobs, store, clock, Date.parse('2026-10-27T00:00:00Z'));
    await store.close();
    expect(records.map((r) => r.slot)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });
});

describe('overlap and catch-up', () => {
  it('a job still running at its next slot is not started twice: the slot is recorded as skipped', async () => {
    const store = await freshStore();
    const clock = new FakeClock(Date.parse('2026-12-06T10:00:30Z'));
    const jobs = planFromConfig(
      config('schedule: { timezone: UTC, jobs: [{ name: every-minute, cron: "* * * * *", run: backup }] }').schedule,
    );
    let finish: (outcome: JobOutcome) => void = () => {};
    let started = 0;
    const scheduler = new Scheduler({
      jobs,
      store,
      clock,
      executor: () => {
        started++;
        return new Promise((resolve) => (finish = resolve));
      },
    });
    await scheduler.start();
    const results = async () => (await scheduler.history.list()).map((r) => r.record.result);
    clock.set(Date.parse('2026-12-06T10:01:00Z'));
    await until(async () => started === 1);
    clock.set(Date.parse('2026-12-06T10:02:00Z'));
    await until(async () => (await results()).length === 2);
    clock.set(Date.parse('2026-12-06T10:03:00Z'));
    await until(async () => (await results()).length === 3);
    expect(started).toBe(1);
    finish({ result: 'success', snapshotId: 'snap-1' });
    await until(async () => (await results())[0] === 'success');
    clock.set(Date.parse('2026-12-06T10:04:00Z'));
    await until(async () => started === 2);
    finish({ result: 'success' });
    await scheduler.settled();
    await scheduler.stop(0);
    const records = (await scheduler.history.list()).map((r) => r.record);
    await store.close();
    expect(started).toBe(2);
    expect(records.map((r) => [r.slot.slice(11, 16), r.result, r.reason])).toEqual([
      ['10:01', 'success', undefined],
      ['10:02', 'skipped', 'overlap: every-minute is still running its run for 2026-12-06T10:01:00.000Z'],
      ['10:03', 'skipped', 'overlap: every-minute is still running its run for 2026-12-06T10:01:00.000Z'],
      ['10:04', 'success', undefined],
    ]);
    expect(records[0]!.snapshotId).toBe('snap-1');
  });

  it('after a 3-day outage, each catching-up job runs once at start-up, recorded as a catch-up run', async () => {
    const store = await freshStore();
    const clock = new FakeClock(Date.parse('2026-11-30T00:00:00Z'));
    const jobs = planFromConfig(config('schedule: { timezone: Europe/Berlin }').schedule);
    await simulate(jobs, store, clock, Date.parse('2026-12-02T12:30:00Z'));
    const before = (
      await new Scheduler({ jobs, store, clock, executor: async () => ({ result: 'success' }) }).history.list()
    ).length;
    // Down for three days: 72 hourly slots, 3 daily ones, the monthly verification of Dec 1 already ran.
    clock.set(Date.parse('2026-12-05T12:30:00Z'));
    const ran: string[] = [];
    const records = await simulate(jobs, store, clock, Date.parse('2026-12-05T12:30:00Z'), async (job, ctx) => {
      ran.push(`${job.name} ${ctx.kind}`);
      return { result: 'success' };
    });
    await store.close();
    expect(ran.sort()).toEqual(['daily catch-up', 'hourly catch-up', 'retention after']);
    const catchUps = records.slice(before).filter((r) => r.kind === 'catch-up');
    expect(catchUps.map((r) => [r.job, r.slot, r.covers])).toEqual(
      expect.arrayContaining([
        ['hourly', '2026-12-05T12:00:00.000Z', 72],
        ['daily', '2026-12-05T02:00:00.000Z', 3],
      ]),
    );
    expect(catchUps).toHaveLength(2);
  });

  it(
    'a slot missed longer ago than catch_up_max_age is ' + 'not caught up; jobs with catch_up: false never are',
    async () => {
      const store = await freshStore();
      const clock = new FakeClock(Date.parse('2026-12-01T00:00:00Z'));
      const jobs = planFromConfig(
        config(`schedule:
  timezone: UTC
  jobs:
    - { name: nightly, cron: "0 1 * * *", run: backup, catch_up_max_age: 12h }
    - { name: prune, cron: "0 1 * * *", run: forget, args: [--prune] }
    - { name: check, cron: "0 1 * * *", run: verify, catch_up: false }`).schedule,
      );
      await simulate(jobs, store, clock, Date.parse('2026-12-01T02:00:00Z'));
      clock.set(Date.parse('2026-12-03T23:00:00Z'));
      const ran: string[] = [];
      await simulate(jobs, store, clock, Date.parse('2026-12-03T23:00:00Z'), async (job) => {
        ran.push(job.name);
        return { result: 'success' };
      });
      await store.close();
      expect(ran).toEqual([]);
    },
  );
});
