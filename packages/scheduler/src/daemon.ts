import type { Server } from 'node:http';
import { type DrkitConfig, durationMs, objectives, type SchedulerConfig, schedulerSettings } from '@drkit/config';
import {
  type Channel,
  type Clock,
  listIncidents,
  Notifier,
  policyFromConfig,
  remindDueReports,
  renderStatusPage,
  statusPage,
  statusPageSettings,
  systemClock,
  toSummary,
} from '@drkit/notify';
import type { LeaseBackend, StateStore } from '@drkit/state';
import { intakeAlerts, parseAlertmanager } from './alertmanager.js';
import type { FailoverStatus } from '@drkit/failover';
import { type CliExecutorOptions, cliExecutor, cliSnapshotLister, type SnapshotSummary } from './executor.js';
import { failoverService } from './failover-service.js';
import { startHttp } from './http.js';
import type { RunRecord } from './history.js';
import { type Logger, silentLogger } from './logger.js';
import { SchedulerMetrics } from './metrics.js';
import { renderOperatorPage } from './page.js';
import { type Job, planFromConfig } from './plan.js';
import { RpoWatch } from './rpo.js';
import { type Executor, Scheduler } from './scheduler.js';

/**
 * Something else the daemon hosts for its lifetime: the failover monitor loop (#8) is started
 * here when `failover:` is configured, and stopped first when the daemon stops.
 */
export interface HostedService {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Extra metrics (the failover state and epoch) filled at scrape time. */
  collect?(metrics: SchedulerMetrics): void | Promise<void>;
  /** For /readyz and the operator page: a problem makes the daemon not ready. */
  status?(): Promise<{ problem?: string; failover?: FailoverStatus }>;
}

export interface DaemonOptions {
  config: DrkitConfig;
  store: StateStore;
  /** How jobs run drkit. */
  drkit: CliExecutorOptions;
  leases?: LeaseBackend;
  leaseTtlMs?: number;
  /** Overrides scheduler.listen (the --listen flag). */
  listen?: string;
  clock?: Clock;
  log?: Logger;
  channels?: ReadonlyMap<string, Channel>;
  services?: HostedService[];
  /**
   * The failover monitor's name when `failover:` is configured
   * (--monitor; else DRKIT_FAILOVER_MONITOR, else the host name).
   */
  monitor?: string;
  /** The plan's time zone when the config names none (default: the host's). */
  hostZone?: string;
  /** Tests on a fake clock run jobs and list snapshots without a child process. */
  executor?: Executor;
  listSnapshots?: () => Promise<SnapshotSummary[]>;
}

const HOUSEKEEPING_MAX_MS = 30_000;
const DELIVER_EVERY_MS = 10_000;
/** Report reminders are due by the hour (48 h after a resolution), and old runs go as slowly. */
const HOURLY_MS = 3_600_000;

/** The scheduler daemon: the plan, the RPO watch, the notifier's outbox, metrics and the HTTP endpoints. */
export class Daemon {
  readonly jobs: Job[];
  readonly scheduler: Scheduler;
  readonly metrics = new SchedulerMetrics();
  readonly notifier: Notifier;
  readonly rpo: RpoWatch;
  url: string | undefined;
  private server: Server | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly objectiveMs: number;
  private readonly settings: SchedulerConfig;
  private readonly stopHousekeeping = new AbortController();
  private housekeeping: Promise<void> | undefined;
  private readonly lastRun = new Map<string, RunRecord>();
  private readonly counted = new Set<string>();
  private started = false;
  private readonly services: HostedService[];

  constructor(private readonly options: DaemonOptions) {
    const { config } = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.settings = schedulerSettings(config);
    this.objectiveMs = durationMs(objectives(config).rpo)!;
    this.jobs = planFromConfig(config.schedule, options.hostZone);
    this.notifier = new Notifier({
      store: options.store,
      channels: options.channels,
      policy: policyFromConfig(config.notify),
      clock: this.clock,
      log: (line) => this.log.warn({}, line),
    });
    this.rpo = new RpoWatch({
      sources: config.sources.map((s) => s.name),
      objectiveMs: this.objectiveMs,
      clock: this.clock,
      list: options.listSnapshots ?? cliSnapshotLister(options.drkit),
      notifier: this.notifier,
      log: this.log,
    });
    this.scheduler = new Scheduler({
      jobs: this.jobs,
      store: options.store,
      executor: options.executor ?? cliExecutor(options.drkit),
      clock: this.clock,
      leases: options.leases,
      leaseTtlMs: options.leaseTtlMs,
      notifier: this.notifier,
      log: this.log,
      onRun: (run) => this.onRun(run),
    });
    // The failover monitor, when configured: the loop `drkit failover monitor` runs.
    const failover = config.failover
      ? [
          failoverService({
            config,
            store: options.store,
            notifier: this.notifier,
            drkit: options.drkit,
            monitor: options.monitor,
            log: this.log,
          }),
        ]
      : [];
    this.services = [...(options.services ?? []), ...failover];
    this.registerCollectors();
  }

  async start(): Promise<void> {
    for (const { record } of await this.scheduler.history.list())
      if (record.result !== 'running') this.lastRun.set(record.job, record);
    const http = await startHttp(this.options.listen ?? this.settings.listen, this.routes(), {
      token: this.settings.token,
      onError: (error) => this.log.error({ err: error }, `http: ${(error as Error).message}`),
    });
    this.server = http.server;
    this.url = http.url;
    await this.rpo.refresh();
    await this.scheduler.start();
    for (const service of this.services) await service.start();
    this.housekeeping = this.keepHouse();
    this.started = true;
    this.log.info(
      { url: this.url, jobs: this.jobs.map((j) => j.name), holder: this.scheduler.holder },
      `drkit-scheduler listening on ${this.url}`,
    );
  }

  /**
   * SIGTERM/SIGINT: no new jobs, the running one finishes within
   * the grace (else stops cleanly), leases released, outbox flushed.
   */
  async stop(graceMs = durationMs(this.settings.shutdown_grace)!): Promise<void> {
    this.log.info({ graceMs }, 'shutting down: no new jobs');
    this.stopHousekeeping.abort();
    // Hosted services stop at once (a failover sequence gives its lease back now), beside the job's grace.
    const services = Promise.all(
      this.services.map((service) =>
        service.stop().catch((error) => this.log.error({ err: error }, `${service.name}: ${(error as Error).message}`)),
      ),
    );
    await this.scheduler.stop(graceMs);
    await this.housekeeping;
    await services;
    await this.notifier
      .flush({ waitMs: 5_000 })
      .catch((error) => this.log.error({ err: error }, `outbox flush: ${(error as Error).message}`));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    this.log.info({}, 'stopped');
  }

  private onRun(run: RunRecord): void {
    this.metrics.observe(run);
    if (run.result === 'running') return;
    this.lastRun.set(run.job, run);
    const job = this.jobs.find((j) => j.name === run.job);
    if (job?.run === 'verify' && run.result === 'success')
      this.metrics.verifyLastSuccess.set(Date.parse(run.endedAt ?? run.slot) / 1000);
    // A job changed the repository: the RPO watch reads it again now rather than at its next refresh.
    if (run.result !== 'skipped') void this.rpo.refresh().then(() => this.rpo.check());
  }

  /**
   * RPO checks each tick (no I/O), the snapshot list every rpo_refresh, the outbox every 10 s;
   * hourly, report reminders (as `drkit notify flush` sends them) and runs older than scheduler.history pruned.
   */
  private async keepHouse(): Promise<void> {
    const tick = Math.max(250, Math.min(HOUSEKEEPING_MAX_MS, this.objectiveMs / 8));
    const refreshMs = durationMs(this.settings.rpo_refresh)!;
    const historyMs = durationMs(this.settings.history)!;
    let nextRefresh = this.clock.now() + refreshMs;
    let nextDeliver = this.clock.now();
    let nextHourly = this.clock.now();
    while (!this.stopHousekeeping.signal.aborted) {
      try {
        if (this.clock.now() >= nextRefresh) {
          nextRefresh = this.clock.now() + refreshMs;
          await this.rpo.refresh();
        }
        await this.rpo.check();
        if (this.clock.now() >= nextHourly) {
          nextHourly = this.clock.now() + HOURLY_MS;
          await remindDueReports(this.notifier);
          const pruned = await this.scheduler.history.prune(this.clock.now() - historyMs);
          if (pruned > 0)
            this.log.info({ pruned }, `pruned ${pruned} run record(s) older than ${this.settings.history}`);
        }
        if (this.clock.now() >= nextDeliver) {
          nextDeliver = this.clock.now() + DELIVER_EVERY_MS;
          await this.notifier.deliver();
        }
      } catch (error) {
        this.log.error({ err: error }, `housekeeping: ${(error as Error).message}`);
      }
      // Not past the hourly pass (a clock that jumped while this pass ran: it runs now).
      await this.clock.sleep(Math.max(0, Math.min(tick, nextHourly - this.clock.now())), this.stopHousekeeping.signal);
    }
  }

  private registerCollectors(): void {
    const m = this.metrics;
    // prom-client calls a metric's `collect` before each scrape.
    const collect = (gauge: object, fn: () => unknown) => Object.assign(gauge, { collect: fn });
    // On the first of the three (in registration order), so all three are filled before any is written out.
    collect(m.backupLastSuccess, () => {
      for (const r of this.rpo.status()) {
        m.rpo.set({ source: r.source }, r.ageSeconds);
        if (r.lastSuccess !== undefined) m.backupLastSuccess.set({ source: r.source }, r.lastSuccess / 1000);
        if (r.bytes !== undefined) m.backupBytes.set({ source: r.source }, r.bytes);
      }
    });
    collect(m.nextRun, () => {
      for (const { job, at } of this.scheduler.nextRuns())
        if (at !== undefined && Number.isFinite(at)) m.nextRun.set({ job: job.name }, at / 1000);
    });
    collect(m.incidentsOpen, async () => {
      const open = await this.notifier.list();
      for (const severity of ['P1', 'P2', 'P3', 'P4'] as const)
        m.incidentsOpen.set({ severity }, open.filter((i) => i.severity === severity).length);
    });
    collect(m.outboxPending, async () => {
      const records = (await this.notifier.outbox.all()).map((r) => r.record);
      m.outboxPending.set(records.filter((r) => r.state === 'pending').length);
      for (const r of records)
        if (r.state !== 'pending' && !this.counted.has(r.id)) {
          this.counted.add(r.id);
          m.notifications.inc({ channel: r.channel, result: r.state });
        }
    });
  }

  private async view() {
    const now = this.clock.now();
    const running = new Set(this.scheduler.runningJobs());
    const since = new Date(now - 30 * 86_400_000).toISOString();
    const history = await this.scheduler.history.list();
    const backupJobs = new Set(this.jobs.filter((j) => j.run === 'backup').map((j) => j.name));
    const records = (await this.notifier.outbox.all()).map((r) => r.record);
    return {
      now,
      jobs: this.scheduler
        .nextRuns(now)
        .map(({ job, at }) => ({ job, last: this.lastRun.get(job.name), next: at, running: running.has(job.name) })),
      rpo: this.rpo.status(),
      objectiveSeconds: this.objectiveMs / 1000,
      incidents: await this.notifier.list(),
      outbox: {
        pending: records.filter((r) => r.state === 'pending').length,
        failed: records.filter((r) => r.state === 'failed' || r.state === 'expired').length,
        delivered: records.filter((r) => r.state === 'delivered').length,
      },
      backups: history
        .map((h) => h.record)
        .filter((r) => backupJobs.has(r.job) && r.slot >= since && (r.result === 'success' || r.result === 'partial')),
      drills: await this.drills(now),
      failover: (await this.serviceStatus()).failover,
      rtoObjectiveSeconds: durationMs(objectives(this.options.config).rto)! / 1000,
    };
  }

  /**
   * The last year's drills from the state store (loaded only
   * for the page: an idle daemon never imports @drkit/runbooks).
   */
  private async drills(now: number) {
    const { drillHistory } = await import('@drkit/runbooks');
    const since = now - 365 * 86_400_000;
    return (await drillHistory(this.options.store))
      .map((d) => ({ at: Date.parse(d.started_at), rtoSeconds: d.rto_seconds, passed: d.passed }))
      .filter((d) => d.at >= since);
  }

  /** What the hosted services report (the failover state), with their problems. */
  private async serviceStatus(): Promise<{ problems: string[]; failover?: FailoverStatus }> {
    const problems: string[] = [];
    let failover: FailoverStatus | undefined;
    for (const service of this.services) {
      const status = await service
        .status?.()
        .catch((error: Error) => ({ problem: `${service.name}: ${error.message}`, failover: undefined }));
      if (status?.problem) problems.push(status.problem);
      if (status?.failover) failover = status.failover;
    }
    return { problems, ...(failover ? { failover } : {}) };
  }

  /** The status page of `@drkit/notify` (the one `drkit status-page publish` writes), live from the state store. */
  private async statusPage() {
    return statusPage({
      ...statusPageSettings(this.options.config.status_page),
      incidents: await listIncidents(this.options.store, { all: true }),
      now: this.clock.now(),
    });
  }

  private routes() {
    return {
      healthz: async () => ({ ok: true }),
      readyz: async () => {
        const problems: string[] = [];
        if (!this.started) problems.push('starting');
        if (this.rpo.lastError) problems.push(`cannot list snapshots: ${this.rpo.lastError}`);
        await this.options.store
          .get('schedule/ready-probe')
          .catch((error: Error) => problems.push(`state store: ${error.message}`));
        const services = await this.serviceStatus();
        problems.push(...services.problems);
        const failover = services.failover && {
          site: services.failover.site,
          state: services.failover.state,
          epoch: services.failover.epoch,
          since: services.failover.since,
          ...(services.failover.lease ? { lease: services.failover.lease.holder } : {}),
        };
        return {
          ok: problems.length === 0,
          ...(problems.length ? { detail: problems } : {}),
          ...(failover ? { failover } : {}),
        };
      },
      metrics: async () => {
        for (const service of this.services) await service.collect?.(this.metrics);
        return { contentType: this.metrics.registry.contentType, body: await this.metrics.text() };
      },
      operator: async () => renderOperatorPage(await this.view()),
      statusJson: async () => toSummary(await this.statusPage()),
      status: async () => renderStatusPage(await this.statusPage()),
      alertmanager: async (body: string): Promise<[number, unknown]> => {
        const payload = parseAlertmanager(body);
        if (typeof payload === 'string') return [400, { error: payload }];
        const alerts = await intakeAlerts(this.notifier, payload);
        this.log.info({ alerts }, `alertmanager: ${alerts.map((a) => `${a.fingerprint} ${a.action}`).join(', ')}`);
        return [200, { alerts }];
      },
    };
  }
}
