import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunRecord } from './history.js';

/**
 * The daemon's Prometheus metrics. Counters and histograms move as runs end; gauges that depend
 * on time or on the state store (RPO, next run, incidents, outbox) are filled by `collect`
 * callbacks at scrape time, so an idle daemon does no work for them.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly backupLastSuccess: Gauge<'source'>;
  readonly backupDuration: Histogram<'job'>;
  readonly backupBytes: Gauge<'source'>;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly nextRun: Gauge<'job'>;
  readonly rpo: Gauge<'source'>;
  readonly verifyLastSuccess: Gauge;
  readonly incidentsOpen: Gauge<'severity'>;
  readonly notifications: Counter<'channel' | 'result'>;
  readonly outboxPending: Gauge;
  readonly failoverState: Gauge<'site' | 'state'>;
  readonly failoverEpoch: Gauge<'site'>;

  constructor() {
    const registers = [this.registry];
    // Event-loop lag sampled every 100 ms, not prom-client's 10 ms: an idle daemon should cost next to nothing.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    // Gauges named like counters: `promtool check metrics` rejects them (the count without _total stays).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(name);
    this.backupLastSuccess = new Gauge({
      name: 'drkit_backup_last_success_timestamp_seconds',
      help: 'Time of the newest snapshot holding the source (seconds since 1970).',
      labelNames: ['source'],
      registers,
    });
    this.backupDuration = new Histogram({
      name: 'drkit_backup_duration_seconds',
      help: 'How long each run of a job took.',
      labelNames: ['job'],
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400],
      registers,
    });
    this.backupBytes = new Gauge({
      name: 'drkit_backup_bytes',
      help: 'Bytes stored by the newest backup of the source.',
      labelNames: ['source'],
      registers,
    });
    this.jobRuns = new Counter({
      name: 'drkit_job_runs_total',
      help: 'Runs of each job by result (success, partial, failed, interrupted, skipped, lost).',
      labelNames: ['job', 'result'],
      registers,
    });
    this.nextRun = new Gauge({
      name: 'drkit_job_next_run_timestamp_seconds',
      help: "Time of the job's next slot (seconds since 1970).",
      labelNames: ['job'],
      registers,
    });
    this.rpo = new Gauge({
      name: 'drkit_rpo_seconds',
      help: 'Age of the newest snapshot holding the source: the data a loss now would cost.',
      labelNames: ['source'],
      registers,
    });
    this.verifyLastSuccess = new Gauge({
      name: 'drkit_verify_last_success_timestamp_seconds',
      help: 'Time of the last verification run that succeeded (seconds since 1970).',
      registers,
    });
    this.incidentsOpen = new Gauge({
      name: 'drkit_incidents_open',
      help: 'Open incidents by severity.',
      labelNames: ['severity'],
      registers,
    });
    this.notifications = new Counter({
      name: 'drkit_notifications_total',
      help: 'Notifications that reached a final state, by channel and result (delivered, failed, expired).',
      labelNames: ['channel', 'result'],
      registers,
    });
    this.outboxPending = new Gauge({
      name: 'drkit_outbox_pending',
      help: 'Notifications waiting in the outbox.',
      registers,
    });
    this.failoverState = new Gauge({
      name: 'drkit_failover_state',
      help: 'Failover state per site (1 for the current state).',
      labelNames: ['site', 'state'],
      registers,
    });
    this.failoverEpoch = new Gauge({
      name: 'drkit_failover_epoch',
      help: "The failover lease's fencing epoch per site.",
      labelNames: ['site'],
      registers,
    });
  }

  /** A run's record changed: count it when final; time and size backups. */
  observe(run: RunRecord): void {
    if (run.result === 'running') return;
    this.jobRuns.inc({ job: run.job, result: run.result });
    if (run.durationMs !== undefined && run.result !== 'skipped')
      this.backupDuration.observe({ job: run.job }, run.durationMs / 1000);
  }

  /** Renders the exposition (text format 0.0.4). */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
