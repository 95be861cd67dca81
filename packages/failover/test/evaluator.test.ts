import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TRIGGERS, Evaluator, type Probe, quorumAgrees, runProbe, type Verdict } from '@drkit/failover';
import { failingPerHundred, fakeClock, startService, type TestService } from './service.js';

let service: TestService;
beforeEach(async () => {
  service = await startService();
});
afterEach(() => service.close());

/**
 * A monitor on a fake clock against a real HTTP service: it probes (a real request), records and
 * evaluates at 0, `intervalMs`, … up to `forMs` inclusive, leaving the clock one interval later.
 * `during` may change the service before each probe. Returns every verdict. The probe's timeout is
 * real time: generous, so that an answer a loaded machine delays is not a failure, unless a test
 * asks for a short one.
 */
async function watch(
  evaluator: Evaluator,
  clock: ReturnType<typeof fakeClock>,
  forMs: number,
  intervalMs: number,
  during?: (elapsed: number) => void,
  timeoutMs = 10_000,
): Promise<Verdict[]> {
  const probe: Probe = { type: 'http', url: service.url, timeoutMs };
  const verdicts: Verdict[] = [];
  for (let elapsed = 0; elapsed <= forMs; elapsed += intervalMs) {
    during?.(elapsed);
    evaluator.record(await runProbe(probe, clock.now));
    verdicts.push(evaluator.evaluate(clock.now()));
    clock.advance(intervalMs);
  }
  return verdicts;
}

const failing = (vs: Verdict[]) => vs.filter((v) => v.health === 'failing');

describe('unreachable_for (5 min by default)', () => {
  it('4m59s without a successful probe is not a failover, 5m is', async () => {
    const clock = fakeClock();
    const evaluator = new Evaluator();
    await watch(evaluator, clock, 60_000, 1_000);
    service.mode = 'down';
    // Probes every second: the first failure at 0, the last look at 4m59s.
    const before = await watch(evaluator, clock, 299_000, 1_000);
    expect(failing(before)).toEqual([]);
    expect(before.at(-1)).toMatchObject({ health: 'degraded', unreachableForMs: 299_000 });
    evaluator.record(await runProbe({ type: 'http', url: service.url, timeoutMs: 300 }, clock.now));
    expect(evaluator.evaluate(clock.now())).toMatchObject({
      health: 'failing',
      unreachableForMs: 300_000,
      reason: expect.stringContaining('unreachable for 5 min'),
    });
  });

  it('slow answers past the probe timeout count as failures', async () => {
    const clock = fakeClock();
    const evaluator = new Evaluator({ ...DEFAULT_TRIGGERS, unreachableForMs: 20_000 });
    service.mode = 'slow';
    service.slowMs = 1_000;
    const verdicts = await watch(evaluator, clock, 20_000, 10_000, undefined, 300);
    expect(verdicts.at(-1)).toMatchObject({ health: 'failing', samples: 3, errorRate: 1 });
  });

  it(
    'a primary that flaps up and down every 30 s is not ' + 'failed over by unreachable_for, though down half the time',
    async () => {
      const clock = fakeClock();
      const evaluator = new Evaluator();
      const flap = (elapsed: number) => {
        service.mode = Math.floor(elapsed / 30_000) % 2 === 0 ? 'up' : 'down';
      };
      // 9m50s: over 4m50s down in all, never 30 s in a row; the error window is not yet whole.
      const verdicts = await watch(evaluator, clock, 590_000, 10_000, flap);
      expect(failing(verdicts)).toEqual([]);
      expect(Math.max(...verdicts.map((v) => v.unreachableForMs))).toBeLessThan(30_000);
      expect(verdicts.filter((v) => v.health === 'degraded').length).toBeGreaterThan(0);
      // Flapping on for a whole error window is a 50 % error rate: the rate trigger (the plan's second rule) fires.
      const more = await watch(evaluator, clock, 20_000, 10_000, (e) => flap(600_000 + e));
      expect(failing(more)[0]?.reason).toMatch(/^error rate 5\d\.\d % over 10 min/);
    },
  );
});

describe('error_rate over error_window (10 % over 10 min, min_samples 20)', () => {
  it('11 % of failures for 10 minutes fails over, 9 % does not', async () => {
    for (const [perHundred, expected] of [
      [11, 'failing'],
      [9, 'degraded'],
    ] as const) {
      service.requests = 0;
      service.failWhen = failingPerHundred(perHundred);
      const clock = fakeClock();
      const evaluator = new Evaluator();
      // A probe every 6 s: 100 attempts in 10 minutes.
      const verdicts = await watch(evaluator, clock, 600_000, 6_000);
      expect(failing(verdicts.slice(0, -1))).toEqual([]);
      expect(verdicts.at(-1)).toMatchObject({ health: expected, samples: 100, errorRate: perHundred / 100 });
    }
  });

  it('too few samples never fail over by the rate: three failures out of four', () => {
    const clock = fakeClock();
    const evaluator = new Evaluator();
    evaluator.record({ at: clock.now(), ok: true });
    for (const [minute, ok] of [
      [2, false],
      [4, false],
      [7, false],
      [11, true],
    ] as const)
      evaluator.record({ at: clock.now() + minute * 60_000, ok });
    expect(evaluator.evaluate(clock.now() + 11 * 60_000)).toMatchObject({
      health: 'degraded',
      samples: 4,
      errorRate: 0.75,
    });
  });
});

describe('hysteresis', () => {
  it('a tripped site clears only after recover_for below recover_below', async () => {
    const clock = fakeClock();
    const evaluator = new Evaluator({
      ...DEFAULT_TRIGGERS,
      unreachableForMs: 60_000,
      errorWindowMs: 120_000,
      recoverForMs: 60_000,
    });
    await watch(evaluator, clock, 120_000, 10_000);
    service.mode = 'down';
    expect(failing(await watch(evaluator, clock, 60_000, 10_000)).length).toBe(1);
    service.mode = 'up';
    // Passing again, but 7 of the last 13 failed: failing until the rate is below 5 %, then 1 min more.
    const after = await watch(evaluator, clock, 240_000, 10_000);
    const cleared = after.findIndex((v) => v.health !== 'failing');
    expect(after[0]).toMatchObject({
      health: 'failing',
      unreachableForMs: 0,
      reason: expect.stringContaining('clears after 1 min below 5.0 %'),
    });
    const calmFrom = after.findIndex((v) => v.errorRate < 0.05);
    expect(calmFrom).toBeGreaterThan(0);
    expect(cleared).toBe(calmFrom + 6);
    expect(after.at(-1)!.health).toBe('healthy');
  });
});

describe('quorum', () => {
  it('needs N listed monitors with a fresh failing verdict', () => {
    const now = 1_000_000;
    const v = (monitor: string, health: Verdict['health'], age: number) => ({
      monitor,
      verdict: { at: now - age, health, unreachableForMs: 0, errorRate: 0, samples: 0 },
    });
    const monitors = ['eu', 'us', 'ap'];
    expect(
      quorumAgrees(
        [v('eu', 'failing', 0), v('us', 'healthy', 0), v('ap', 'failing', 70_000)],
        monitors,
        2,
        now,
        60_000,
      ),
    ).toEqual({ agrees: false, failing: ['eu'] });
    expect(
      quorumAgrees([v('eu', 'failing', 0), v('us', 'failing', 5_000), v('xx', 'failing', 0)], monitors, 2, now, 60_000),
    ).toEqual({ agrees: true, failing: ['eu', 'us'] });
  });
});
