import type { ProbeResult } from './probes.js';

/** When the primary counts as down, and when as recovered (all in ms and fractions). */
export interface Triggers {
  /** No successful probe for this long, counted from the first failure after the last success. Default 5 min. */
  unreachableForMs: number;
  /** Failures / attempts over `errorWindowMs` above this fails over. Default 0.10. */
  errorRate: number;
  /** Default 10 min. The rate counts only once the monitor has watched for a whole window. */
  errorWindowMs: number;
  /** Fewer attempts in the window than this never fail over by the rate. Default 20. */
  minSamples: number;
  /**
   * A tripped trigger clears only when the rate stays below this (and probes pass) for `recoverForMs`. Default 0.05.
   */
  recoverBelow: number;
  /** Default 5 min. */
  recoverForMs: number;
}

export const DEFAULT_TRIGGERS: Triggers = {
  unreachableForMs: 5 * 60_000,
  errorRate: 0.1,
  errorWindowMs: 10 * 60_000,
  minSamples: 20,
  recoverBelow: 0.05,
  recoverForMs: 5 * 60_000,
};

/** What one monitor makes of its probes at one moment. */
export interface Verdict {
  at: number;
  /** `healthy`: nothing wrong; `degraded`: failures, no trigger met; `failing`: a trigger met (or not yet cleared). */
  health: 'healthy' | 'degraded' | 'failing';
  /** Why it is failing (which trigger), or what is wrong when degraded. */
  reason?: string;
  /** ms since the first failure after the last success; 0 while the newest probe passed. */
  unreachableForMs: number;
  /** Failures / attempts in the error window (0 with no attempts). */
  errorRate: number;
  /** Attempts in the error window. */
  samples: number;
  lastSuccessAt?: number;
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;
/** `5 min`, `1.2 s`, `4 min 59 s`. */
export const duration = (ms: number) =>
  ms < 60_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms % 60_000 === 0
      ? `${ms / 60_000} min`
      : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

/**
 * The sliding windows over one site's probe results (every probe of the site counts), on the
 * clock the caller gives: `record` each result, `evaluate(now)` for the verdict. Tripping is
 * sticky: once failing it clears only after `recoverForMs` of passing probes with the rate below
 * `recoverBelow` (hysteresis), so a site at the edge does not flap between states.
 */
export class Evaluator {
  private readonly samples: { at: number; ok: boolean }[] = [];
  private watchingSince: number | undefined;
  private lastSuccessAt: number | undefined;
  private firstFailureAt: number | undefined;
  private tripped: string | undefined;
  private calmSince: number | undefined;

  constructor(readonly triggers: Triggers = DEFAULT_TRIGGERS) {}

  record(result: Pick<ProbeResult, 'at' | 'ok'>): void {
    this.watchingSince ??= result.at;
    this.samples.push({ at: result.at, ok: result.ok });
    if (result.ok) {
      if (this.lastSuccessAt === undefined || result.at > this.lastSuccessAt) this.lastSuccessAt = result.at;
      if (this.firstFailureAt !== undefined && this.firstFailureAt <= result.at) this.firstFailureAt = undefined;
    } else if (
      this.firstFailureAt === undefined &&
      (this.lastSuccessAt === undefined || result.at > this.lastSuccessAt)
    )
      this.firstFailureAt = result.at;
  }

  evaluate(now: number): Verdict {
    const { unreachableForMs, errorRate, errorWindowMs, minSamples, recoverBelow, recoverForMs } = this.triggers;
    while (this.samples.length > 0 && this.samples[0]!.at <= now - errorWindowMs) this.samples.shift();
    const failures = this.samples.reduce((n, s) => n + (s.ok ? 0 : 1), 0);
    const rate = this.samples.length === 0 ? 0 : failures / this.samples.length;
    const down = this.firstFailureAt === undefined ? 0 : now - this.firstFailureAt;
    const wholeWindow = this.watchingSince !== undefined && this.watchingSince <= now - errorWindowMs;
    const base = {
      at: now,
      unreachableForMs: down,
      errorRate: rate,
      samples: this.samples.length,
      ...(this.lastSuccessAt === undefined ? {} : { lastSuccessAt: this.lastSuccessAt }),
    };

    let trigger: string | undefined;
    if (down >= unreachableForMs) trigger = `unreachable for ${duration(down)} (limit ${duration(unreachableForMs)})`;
    else if (wholeWindow && this.samples.length >= minSamples && rate > errorRate)
      trigger =
        `error rate ${percent(rate)} over ${duration(errorWindowMs)} (${failures} of ${this.samples.length}; ` +
        `limit ${percent(errorRate)})`;
    if (trigger) {
      this.tripped = trigger;
      this.calmSince = undefined;
      return { ...base, health: 'failing', reason: trigger };
    }
    if (this.tripped) {
      const calm = down === 0 && rate < recoverBelow;
      if (!calm) this.calmSince = undefined;
      else this.calmSince ??= now;
      if (this.calmSince === undefined || now - this.calmSince < recoverForMs)
        return {
          ...base,
          health: 'failing',
          reason: `${this.tripped}; clears after ${duration(recoverForMs)} below ${percent(recoverBelow)}`,
        };
      this.tripped = undefined;
      this.calmSince = undefined;
    }
    if (down > 0) return { ...base, health: 'degraded', reason: `no successful probe for ${duration(down)}` };
    if (failures > 0)
      return {
        ...base,
        health: 'degraded',
        reason: `${failures} of ${this.samples.length} probes failed (${percent(rate)})`,
      };
    return { ...base, health: 'healthy' };
  }
}

/** One monitor's latest verdict, as the others read it from the state store. */
export interface MonitorVerdict {
  monitor: string;
  verdict: Verdict;
}

/**
 * Whether `quorum` of the listed monitors agree the site is failing, counting only verdicts
 * younger than `withinMs` (a monitor that stopped reporting does not vote).
 */
export function quorumAgrees(
  verdicts: MonitorVerdict[],
  monitors: string[],
  quorum: number,
  now: number,
  withinMs: number,
): { agrees: boolean; failing: string[] } {
  const failing = verdicts
    .filter((v) => monitors.includes(v.monitor) && v.verdict.health === 'failing' && now - v.verdict.at <= withinMs)
    .map((v) => v.monitor);
  return { agrees: failing.length >= quorum, failing };
}
