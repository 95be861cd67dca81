import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, Notifier } from '@drkit/notify';
import { type Lease, type LeaseBackend, type StateStore, updateEntry } from '@drkit/state';
import { SchedulerError, SchedulerErrorCode } from './errors.js';
import { RunHistory, type RunKind, type RunRecord, runKey } from './history.js';
import { type Logger, silentLogger } from './logger.js';
import { findJob, type Job, Slots } from './plan.js';

/** What a job's drkit command came to. */
export interface JobOutcome {
  result: 'success' | 'partial' | 'failed' | 'interrupted';
  exitCode?: number;
  snapshotId?: string;
  sources?: { name: string; bytes: number }[];
  errorCode?: string;
  message?: string;
  hint?: string;
}

export interface JobContext {
  runId: string;
  slot: number;
  kind: RunKind;
  /** Aborted when the run must stop (shutdown past its grace, a lost lease): stop cleanly. */
  signal: AbortSignal;
  log: Logger;
}

/** Runs one job (the daemon: the drkit CLI as a child process). Never throws for a failed job: it says so. */
export type Executor = (job: Job, context: JobContext) => Promise<JobOutcome>;

export interface SchedulerOptions {
  jobs: readonly Job[];
  store: StateStore;
  executor: Executor;
  clock: Clock;
  /** Where replicas take a job's lease; without one, this daemon must be the only one. */
  leases?: LeaseBackend;
  leaseTtlMs?: number;
  /** Failed jobs open (and successes resolve) incidents here. */
  notifier?: Notifier;
  log?: Logger;
  /** Called when a run starts and when its record is final (metrics, the RPO watch). */
  onRun?: (record: RunRecord) => void;
}

/** Where a job's current run is noted, so the replica that takes the job over can mark it lost. */
interface JobState {
  running?: { key: string; holder: string; epoch?: number };
}
const jobKey = (job: string) => `schedule/jobs/${job}`;
const leaseName = (job: string) => `schedule-${job}`;
const iso = (ms: number) => new Date(ms).toISOString();
/** The longest the loop sleeps: wall-clock jumps (NTP, a suspended VM) are noticed within it. */
const MAX_SLEEP_MS = 60_000;

export type SlotOutcome = { ran: RunRecord } | { busy: string } | { taken: true };

/**
 * Runs the plan: each cron job at its slots (in its time zone), jobs with `after` behind them;
 * never two runs of one job at once (a slot that comes while its job runs is recorded as skipped),
 * each slot at most once across replicas (a job lease with a fencing epoch, and a create-only run
 * record per slot), slots missed while no daemon ran caught up once at start.
 */
export class Scheduler {
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly history: RunHistory;
  readonly slots: Slots;
  private readonly jobs: readonly Job[];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly ttl: number;
  private readonly next = new Map<string, number>();
  private readonly running = new Map<string, { slot: number; abort: AbortController; runId: string }>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly stopSleep = new AbortController();
  private stopping = false;
  private parked = false;
  private wakeAt = 0;
  private loopDone: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.jobs = options.jobs;
    this.clock = options.clock;
    this.log = options.log ?? silentLogger;
    this.ttl = options.leaseTtlMs ?? 30_000;
    this.history = new RunHistory(options.store);
    this.slots = new Slots(options.jobs);
  }

  job(name: string): Job {
    return findJob(this.jobs, name);
  }

  /** The next slot of each cron job after `now`. */
  nextRuns(now = this.clock.now()): { job: Job; at: number | undefined }[] {
    return this.jobs.map((job) => ({
      job,
      at: job.cron ? (this.next.get(job.name) ?? this.slots.next(job.name, now)) : undefined,
    }));
  }

  /** Names of the jobs running in this daemon. */
  runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /** Catches up missed slots, then runs the plan until stop(). */
  async start(): Promise<void> {
    const now = this.clock.now();
    if (!this.options.leases) await this.markOwnLost();
    for (const job of this.jobs)
      if (job.cron) this.next.set(job.name, this.slots.next(job.name, now) ?? Number.POSITIVE_INFINITY);
    await this.catchUp(now);
    this.loopDone = this.loop();
  }

  /** Resolves when the loop waits for a slot and no run is in flight (tests on a fake clock). */
  async settled(): Promise<void> {
    const waiting = () => this.parked && this.clock.now() < this.wakeAt;
    while (this.tasks.size > 0 || (!waiting() && !this.stopping)) await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * Takes no new slot; lets running jobs finish for up to `graceMs`, then aborts them (the CLI
   * rolls its work back), waits for their records and leases.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopSleep.abort();
    await this.loopDone;
    if (this.tasks.size > 0) {
      const grace = new AbortController();
      const all = Promise.allSettled([...this.tasks]);
      await Promise.race([all, this.clock.sleep(graceMs, grace.signal)]);
      grace.abort();
      for (const [name, run] of this.running) {
        this.log.warn(
          { job: name, runId: run.runId },
          `shutdown: ${name} did not finish within the grace period; stopping it cleanly`,
        );
        run.abort.abort(new Error('shutdown'));
      }
      await all;
    }
  }

  /** `drkit schedule run NAME`: now, by hand, under the same rules (one run of a job at a time, its lease). */
  async runNow(name: string): Promise<RunRecord> {
    const job = this.job(name);
    const outcome = await this.runSlot(job, this.clock.now(), 'manual');
    // Its after-jobs follow before the command returns.
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    if ('ran' in outcome) return outcome.ran;
    throw new SchedulerError(
      SchedulerErrorCode.JOB_BUSY,
      `Job ${name} is running already${'busy' in outcome ? ` (${outcome.busy})` : ''}.`,
      {
        hint: `Wait for it to finish (drkit schedule history --job ${name}), then run it again if you still need to.`,
        details: { job: name },
      },
    );
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.dispatch(this.clock.now());
      const wake = Math.min(...this.next.values(), this.clock.now() + MAX_SLEEP_MS);
      this.parked = true;
      this.wakeAt = wake;
      await this.clock.sleep(Math.max(0, wake - this.clock.now()), this.stopSleep.signal);
      this.parked = false;
    }
  }

  /** Starts every slot that has come; of several missed at once (a suspended host) only the newest. */
  private dispatch(now: number): void {
    const due: { job: Job; slot: number }[] = [];
    for (const job of this.jobs) {
      let slot = this.next.get(job.name);
      if (slot === undefined || slot > now) continue;
      let next = this.slots.next(job.name, slot);
      if (next !== undefined && next <= now) {
        slot = this.slots.previous(job.name, now) ?? slot;
        next = this.slots.next(job.name, now);
      }
      due.push({ job, slot });
      this.next.set(job.name, next ?? Number.POSITIVE_INFINITY);
    }
    for (const [i, { job, slot }] of due.entries()) {
      // Two jobs of one command at one instant (hourly and daily at 03:00): the later in the plan runs.
      const winner = due.slice(i + 1).find((other) => other.job.run === job.run && other.slot === slot)?.job;
      this.track(
        winner
          ? this.skip(job, slot, 'scheduled', `superseded by ${winner.name}`)
          : this.runSlot(job, slot, 'scheduled'),
      );
    }
  }

  /** At start: for each job that catches up, the newest slot missed since its last run, run once. */
  private async catchUp(now: number): Promise<void> {
    for (const job of this.jobs) {
      if (!job.cron || !job.catchUp) continue;
      const last = await this.history.lastScheduled(job.name);
      if (!last) continue;
      const missed = this.slots.previous(job.name, now);
      const lastSlot = Date.parse(last.slot);
      if (missed === undefined || missed <= lastSlot || now - missed > job.catchUpMaxAgeMs) continue;
      const covers = this.slots.count(job.name, lastSlot, missed);
      this.track(this.runSlot(job, missed, 'catch-up', covers));
    }
  }

  private track(task: Promise<unknown>): void {
    const tracked = task
      .catch((error) => this.log.error({ err: error }, `scheduler: ${(error as Error).message}`))
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private async skip(job: Job, slot: number, kind: RunKind, reason: string): Promise<void> {
    const at = iso(this.clock.now());
    const record: RunRecord = {
      id: this.runId(),
      job: job.name,
      slot: iso(slot),
      kind,
      result: 'skipped',
      reason,
      holder: this.holder,
      startedAt: at,
      endedAt: at,
    };
    if (await this.history.claim(record, slot)) {
      (reason.startsWith('overlap') ? this.log.warn : this.log.info).call(
        this.log,
        { runId: record.id, job: job.name, slot: record.slot },
        `${job.name}: slot ${record.slot} skipped: ${reason}`,
      );
      this.options.onRun?.(record);
    }
  }

  private runId(): string {
    return `${iso(this.clock.now()).replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
  }

  /** One run of a job for a slot: the lease, the slot's record, the command, the outcome. */
  private async runSlot(job: Job, slot: number, kind: RunKind, covers?: number): Promise<SlotOutcome> {
    const current = this.running.get(job.name);
    if (current) {
      const busy = `overlap: ${job.name} is still running its run for ${iso(current.slot)}`;
      if (kind !== 'manual') await this.skip(job, slot, kind, busy);
      return { busy };
    }
    const abort = new AbortController();
    const runId = this.runId();
    const log = this.log.child({ runId, job: job.name });
    this.running.set(job.name, { slot, abort, runId });
    let lease: Lease | undefined;
    try {
      if (this.options.leases) {
        lease = await this.options.leases.acquire(leaseName(job.name), this.holder, this.ttl);
        // Another replica runs this job: it records the slot (run, or skipped as an overlap).
        if (!lease) return { busy: `another replica holds ${leaseName(job.name)}` };
        await this.fence(job, lease, log);
      }
      const record: RunRecord = {
        id: runId,
        job: job.name,
        slot: iso(slot),
        kind,
        result: 'running',
        holder: this.holder,
        ...(lease ? { epoch: lease.epoch } : {}),
        startedAt: iso(this.clock.now()),
        ...(covers !== undefined ? { covers } : {}),
      };
      if (!(await this.history.claim(record, slot))) {
        log.debug({ slot: record.slot }, 'slot already ran (another replica, or before a restart)');
        return { taken: true };
      }
      const key = runKey(job.name, slot, kind);
      if (lease)
        await this.options.store.put<JobState>(jobKey(job.name), {
          running: { key, holder: this.holder, epoch: lease.epoch },
        });
      log.info(
        { slot: record.slot, kind, args: job.args, ...(covers !== undefined ? { covers } : {}) },
        `${job.name}: drkit ${job.run} started (${kind} run for ${record.slot}` +
          `${covers !== undefined ? `, standing for ${covers} slot(s) missed while no daemon ran` : ''})`,
      );
      this.options.onRun?.(record);
      const renewal = lease ? this.keepRenewing(lease, abort, log) : undefined;
      let outcome: JobOutcome;
      try {
        outcome = await this.options.executor(job, { runId, slot, kind, signal: abort.signal, log });
      } catch (error) {
        outcome = { result: 'failed', errorCode: SchedulerErrorCode.JOB_CRASHED, message: (error as Error).message };
      }
      const lost = await renewal?.stop();
      if (lost)
        outcome = { ...outcome, result: 'interrupted', errorCode: SchedulerErrorCode.LEASE_LOST, message: lost };
      const endedAt = this.clock.now();
      const final = await this.history.finish(record, slot, {
        ...outcome,
        endedAt: iso(endedAt),
        durationMs: endedAt - Date.parse(record.startedAt!),
      });
      if (lease)
        await updateEntry<JobState>(this.options.store, jobKey(job.name), (s) =>
          s?.running?.key === key && s.running.holder === this.holder ? {} : undefined,
        );
      const done = final ?? { ...record, ...outcome, result: 'lost' as const };
      (outcome.result === 'success' ? log.info : log.warn).call(
        log,
        {
          result: outcome.result,
          exitCode: outcome.exitCode,
          snapshotId: outcome.snapshotId,
          errorCode: outcome.errorCode,
          durationMs: done.durationMs,
        },
        `${job.name}: ${outcome.result}${outcome.errorCode ? ` [${outcome.errorCode}] ${outcome.message ?? ''}` : ''}`,
      );
      this.options.onRun?.(done);
      await this.report(job, done).catch((error) =>
        log.error({ err: error }, `could not report the run to notify: ${(error as Error).message}`),
      );
      if (!this.stopping && (outcome.result === 'success' || outcome.result === 'partial'))
        for (const next of this.jobs) if (next.after.includes(job.name)) this.track(this.runSlot(next, slot, 'after'));
      return { ran: done };
    } finally {
      this.running.delete(job.name);
      if (lease)
        await this.options
          .leases!.release(lease)
          .catch((error) =>
            this.log.warn({ err: error }, `could not release ${lease!.name}: ${(error as Error).message}`),
          );
    }
  }

  /** With a newer epoch than the run noted for the job, that run's daemon is gone: its record says lost. */
  private async fence(job: Job, lease: Lease, log: Logger): Promise<void> {
    const state = await this.options.store.get<JobState>(jobKey(job.name));
    const running = state?.value.running;
    if (!running || running.holder === this.holder || (running.epoch ?? 0) >= lease.epoch) return;
    await this.history.markLost(
      running.key,
      `its daemon ${running.holder} stopped renewing the job's lease; ${this.holder} took the job over ` +
        `(epoch ${lease.epoch})`,
      this.clock.now(),
    );
    await this.options.store.put<JobState>(jobKey(job.name), {}, { ifRevision: state!.revision }).catch(() => {});
    log.warn(
      { holder: running.holder },
      `${job.name}: the run ${running.key} of ${running.holder} was lost (its lease lapsed)`,
    );
  }

  /** Alone (no lease backend), a run still marked running at start belongs to a daemon that is gone. */
  private async markOwnLost(): Promise<void> {
    for (const job of this.jobs)
      for (const { key, record } of await this.history.list(job.name))
        if (record.result === 'running')
          await this.history.markLost(
            key,
            `its daemon ${record.holder} stopped before the run ended`,
            this.clock.now(),
          );
  }

  /** Renews the lease every third of its TTL; when it is lost, aborts the run. */
  private keepRenewing(
    initial: Lease,
    abort: AbortController,
    log: Logger,
  ): { stop: () => Promise<string | undefined> } {
    const stopped = new AbortController();
    let lease = initial;
    let lost: string | undefined;
    const done = (async () => {
      while (!stopped.signal.aborted) {
        await this.clock.sleep(this.ttl / 3, stopped.signal);
        if (stopped.signal.aborted) return;
        try {
          lease = await this.options.leases!.renew(lease, this.ttl);
        } catch (error) {
          lost =
            `the job's lease was lost while it ran (${(error as Error).message}); it was stopped so that ` +
            `another replica's run is the only one`;
          log.error({ err: error }, lost);
          abort.abort(new Error(lost));
          return;
        }
      }
    })();
    return {
      stop: async () => {
        stopped.abort();
        await done;
        initial.epoch = lease.epoch;
        initial.expiresAt = lease.expiresAt;
        return lost;
      },
    };
  }

  /** A failed run opens (or updates) the job's incident with its error code and hint; a success resolves it. */
  private async report(job: Job, run: RunRecord): Promise<void> {
    const notifier = this.options.notifier;
    if (!notifier || run.kind === 'manual') return;
    const dedupKey = `job-failed:${job.name}`;
    if (run.result === 'success')
      await notifier.report({
        by: 'scheduler',
        severity: 'P4',
        title: '',
        message: `${job.name} succeeded (run ${run.id}).`,
        dedupKey,
        resolve: true,
      });
    else if (run.result === 'failed' || run.result === 'lost' || run.result === 'interrupted')
      await notifier.report({
        by: 'scheduler',
        // A verification that fails means backups are damaged: that is an emergency, a failed backup is not yet.
        severity: job.run === 'verify' && run.exitCode === 4 ? 'P1' : 'P2',
        title: `Scheduled job ${job.name} (drkit ${job.run}) failed`,
        message:
          `${job.name} ${run.result} for slot ${run.slot}${run.errorCode ? ` [${run.errorCode}]` : ''}: ` +
          `${run.message ?? run.reason ?? 'no message'}${run.hint ? ` Hint: ${run.hint}` : ''}`,
        dedupKey,
        components: ['backups'],
        labels: { job: job.name, ...(run.errorCode ? { error_code: run.errorCode } : {}) },
      });
  }
}
