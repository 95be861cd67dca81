import type { ProbeResult } from './probes.js';
import type { Verdict } from './evaluator.js';

/** The names of the issue, in order: automatic moves go right as far as failing_over; back only by hand. */
export const FAILOVER_STATES = [
  'healthy',
  'degraded',
  'failing',
  'failing_over',
  'failed_over',
  'failing_back',
] as const;
export type FailoverState = (typeof FAILOVER_STATES)[number];

export interface StepRecord {
  /** `1 activate`, `2 restore`, … */
  step: string;
  status: 'not_run' | 'running' | 'ok' | 'failed';
  epoch?: number;
  startedAt?: string;
  ms?: number;
  attempts?: number;
  detail?: string;
  /** restore: the snapshot restored, its time and the data-loss window it gave. */
  snapshot?: string;
  snapshotTime?: string;
  rpoMs?: number;
}

export interface RunRecord {
  epoch: number;
  trigger: 'automatic' | 'manual';
  reason: string;
  holder: string;
  startedAt: string;
  finishedAt?: string;
  outcome: 'running' | 'done' | 'failed';
  steps: StepRecord[];
}

/** `failover/<site>/site`: the machine's state; every change a conditional write. */
export interface SiteRecord {
  state: FailoverState;
  since: string;
  reason?: string;
  /** The fencing epoch of the newest failover (the lease's). */
  epoch: number;
  paused: boolean;
  /** Times (ms) of automatic failovers, the last day's, for the daily cap. */
  automatic: number[];
  lastFailoverAt?: number;
  run?: RunRecord;
  incidentId?: string;
}

/** `failover/<site>/monitors/<monitor>`: one monitor's last look. */
export interface MonitorRecord {
  monitor: string;
  verdict: Verdict;
  results: ProbeResult[];
}

export const keys = {
  site: (site: string) => `failover/${site}/site`,
  monitor: (site: string, monitor: string) => `failover/${site}/monitors/${monitor}`,
  monitors: (site: string) => `failover/${site}/monitors/`,
  lease: (site: string) => `failover/${site}`,
};

export const newSite = (now: number): SiteRecord => ({
  state: 'healthy',
  since: new Date(now).toISOString(),
  epoch: 0,
  paused: false,
  automatic: [],
});
