import { hostname } from 'node:os';
import { type Clock, type DrkitEvent, type Notifier, type Severity, systemClock } from '@drkit/notify';
import type { Repository } from '@drkit/repository';
import {
  type Lease,
  type LeaseBackend,
  leaseHolderId,
  StateErrorCode,
  type StateStore,
  updateEntry,
} from '@drkit/state';
import { FailoverError, FailoverErrorCode } from './errors.js';
import { duration as seconds, Evaluator, type Verdict } from './evaluator.js';
import { runHook } from './hooks.js';
import { DEFAULT_PROBE_INTERVAL_MS, type ProbeResult, runProbe, waitForProbes } from './probes.js';
import {
  type FailoverState,
  keys,
  type MonitorRecord,
  newSite,
  type RunRecord,
  type SiteRecord,
  type StepRecord,
} from './record.js';
import { chooseSnapshot, type RestoreOutcome, restoreSources } from './restore-step.js';
import { DEFAULT_STEP_TIMEOUT_MS, type FailoverSettings, type Step } from './settings.js';

export interface FailoverDeps {
  store: StateStore;
  leases: LeaseBackend;
  /** Where transitions go: failover opens a P1 incident by itself. */
  notifier?: Pick<Notifier, 'report'>;
  /** Sends what a report queued (notify's `deliver`), so a page goes out while the steps still run. */
  deliver?: () => Promise<void>;
  clock?: Clock;
  /** This monitor's name (one of `settings.monitors` when a quorum is set); default the host name. */
  monitor?: string;
  /** The repository the restore step reads (opened only when a restore runs or is planned). */
  openRepository?: () => Promise<Repository>;
  /**
   * Runs the restore step at `index` somewhere else (the scheduler daemon: `drkit failover restore`
   * in a child process, which loads the repository code, not the daemon); default: in this process.
   */
  restore?: (index: number, signal: AbortSignal) => Promise<RestoreOutcome>;
  log?: (line: string) => void;
}

export interface FailoverStatus {
  site: string;
  state: FailoverState;
  since: string;
  reason?: string;
  epoch: number;
  paused: boolean;
  lease?: Lease;
  run?: RunRecord;
  monitors: MonitorRecord[];
  /** Why an automatic failover would be held back now (paused, cooldown, daily cap), if it would. */
  held?: string;
}

export interface PlannedStep {
  step: string;
  does: string;
}

const DAY_MS = 86_400_000;
const SEVERITY: Record<FailoverState, Severity> = {
  healthy: 'P4',
  degraded: 'P3',
  failing: 'P2',
  failing_over: 'P1',
  failed_over: 'P1',
  failing_back: 'P1',
};
export const stepName = (step: Step, i: number) => `${i + 1} ${step.kind}`;

/**
 * One site's failover: the monitor loop (probes → evaluator → the site's state in the state
 * store), and the sequence of steps run by whoever holds the site's lease, with the lease's
 * fencing epoch handed to every step. Every change of the site is a conditional write; every
 * transition and step result is reported to notify (one incident per site, P1 once failing over).
 */
export class Failover {
  readonly clock: Clock;
  readonly monitor: string;
  readonly holder: string;
  private readonly evaluator: Evaluator;
  private readonly due = new Map<number, number>();

  constructor(
    readonly settings: FailoverSettings,
    private readonly deps: FailoverDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.monitor = deps.monitor ?? hostname();
    this.holder = `${this.monitor}/${leaseHolderId()}`;
    this.evaluator = new Evaluator(settings.triggers);
  }

  private get site(): string {
    return this.settings.site;
  }

  async read(): Promise<SiteRecord> {
    return (await this.deps.store.get<SiteRecord>(keys.site(this.site)))?.value ?? newSite(this.clock.now());
  }

  async status(): Promise<FailoverStatus> {
    const site = await this.read();
    const monitors: MonitorRecord[] = [];
    for await (const entry of this.deps.store.list<MonitorRecord>(keys.monitors(this.site))) monitors.push(entry.value);
    const lease = await this.deps.leases.current(keys.lease(this.site));
    const held = this.heldBack(site);
    return {
      site: this.site,
      state: site.state,
      since: site.since,
      ...(site.reason ? { reason: site.reason } : {}),
      epoch: site.epoch,
      paused: site.paused,
      ...(lease ? { lease } : {}),
      ...(site.run ? { run: site.run } : {}),
      monitors,
      ...(held ? { held } : {}),
    };
  }

  /**
   * One look: runs the primary's probes that are due, records and publishes this monitor's verdict,
   * moves the state, and acts if it must. `stop` (the monitor stopping) aborts a sequence it runs:
   * its lease is released at once and the run left for the next monitor to resume.
   */
  async tick(stop?: AbortSignal): Promise<{ verdict: Verdict; state: FailoverState; acted?: RunRecord }> {
    const now = this.clock.now();
    const due = this.settings.primary.probes.filter((_, i) => (this.due.get(i) ?? 0) <= now);
    for (const p of due)
      this.due.set(this.settings.primary.probes.indexOf(p), now + (p.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS));
    const results: ProbeResult[] = await Promise.all(due.map((p) => runProbe(p, () => this.clock.now())));
    for (const r of results) this.evaluator.record(r);
    const verdict = this.evaluator.evaluate(this.clock.now());
    await this.deps.store.put<MonitorRecord>(keys.monitor(this.site, this.monitor), {
      monitor: this.monitor,
      verdict,
      results,
    });
    const health = await this.agreedHealth(verdict);
    let from: FailoverState | undefined;
    let site = await this.change((s) => {
      from = undefined;
      if (s.state !== 'healthy' && s.state !== 'degraded' && s.state !== 'failing') return undefined;
      if (s.state === health.state && (health.state === 'healthy' || s.reason === health.reason)) return undefined;
      if (s.state !== health.state) from = s.state;
      return {
        ...s,
        state: health.state,
        since: from ? this.iso() : s.since,
        ...(health.reason ? { reason: health.reason } : { reason: undefined }),
      };
    });
    // Every transition goes to notify: degraded P3, failing P2, and back to healthy resolves.
    if (from && site.state === 'healthy')
      await this.report({
        severity: 'P3',
        message: `The primary of site ${this.site} is healthy again (was ${from}).`,
        resolve: true,
      });
    else if (from)
      await this.notify(site.state, `The primary of site ${this.site} is ${site.state} (was ${from}): ${site.reason}.`);
    let acted: RunRecord | undefined;
    const interrupted = site.state === 'failing_over' && site.run?.outcome === 'running';
    if ((site.state === 'failing' && !this.heldBack(site)) || interrupted) {
      acted = await this.failover('automatic', interrupted ? site.run!.reason : (health.reason ?? 'failing'), stop);
      site = await this.read();
    }
    return { verdict, state: site.state, ...(acted ? { acted } : {}) };
  }

  /**
   * Runs `tick` every probe interval (the shortest) until `signal` aborts: what `drkit failover
   * monitor` and the scheduler daemon run. A sequence under way stops at once and gives its lease
   * back, so another monitor resumes it now rather than after the TTL.
   */
  async monitorLoop(signal: AbortSignal, onTick?: (t: Awaited<ReturnType<Failover['tick']>>) => void): Promise<void> {
    const every = Math.min(...this.settings.primary.probes.map((p) => p.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS));
    while (!signal.aborted) {
      const started = this.clock.now();
      try {
        onTick?.(await this.tick(signal));
      } catch (error) {
        this.deps.log?.(`failover: ${(error as Error).message}`);
      }
      await this.clock.sleep(Math.max(0, started + every - this.clock.now()), signal);
    }
  }

  /** Why an automatic failover would not start now, or undefined. */
  heldBack(site: SiteRecord): string | undefined {
    const now = this.clock.now();
    if (site.paused) return 'paused (drkit failover resume)';
    if (site.lastFailoverAt !== undefined && now - site.lastFailoverAt < this.settings.cooldownMs)
      return `in cooldown until ${new Date(site.lastFailoverAt + this.settings.cooldownMs).toISOString()}`;
    if (site.automatic.filter((t) => now - t < DAY_MS).length >= this.settings.maxPerDay)
      return `${this.settings.maxPerDay} automatic failover(s) in the last 24 h (the daily cap)`;
    return undefined;
  }

  /**
   * healthy / degraded / failing as the monitors agree: failing
   * needs the quorum; one's own verdict when no quorum is set.
   */
  private async agreedHealth(mine: Verdict): Promise<{ state: 'healthy' | 'degraded' | 'failing'; reason?: string }> {
    const { monitors, quorum, quorumWithinMs } = this.settings;
    if (monitors.length === 0 || quorum <= 1)
      return { state: mine.health, ...(mine.reason ? { reason: mine.reason } : {}) };
    const now = this.clock.now();
    const fresh: MonitorRecord[] = [];
    for await (const entry of this.deps.store.list<MonitorRecord>(keys.monitors(this.site)))
      if (monitors.includes(entry.value.monitor) && now - entry.value.verdict.at <= quorumWithinMs)
        fresh.push(entry.value);
    const failing = fresh.filter((m) => m.verdict.health === 'failing');
    if (failing.length >= quorum)
      return {
        state: 'failing',
        reason:
          `${failing.length} of ${monitors.length} monitors (${failing.map((m) => m.monitor).join(', ')}): ` +
          `${failing[0]!.verdict.reason}`,
      };
    const troubled = fresh.filter((m) => m.verdict.health !== 'healthy');
    if (troubled.length > 0)
      return {
        state: 'degraded',
        reason:
          `${troubled.map((m) => `${m.monitor}: ${m.verdict.reason}`).join('; ')}` +
          `${failing.length ? ` (${failing.length} failing, quorum ${quorum})` : ''}`,
      };
    return { state: 'healthy' };
  }

  /**
   * Takes the site's lease and runs the steps (resuming an interrupted run from its first
   * unfinished step, under the new epoch). Automatic: returns undefined when another monitor
   * holds the lease or there is nothing to do. Manual: FAILOVER_BUSY / FAILOVER_BAD_STATE.
   * A failed step stops the sequence (FAILOVER_STEP_FAILED for a manual run).
   */
  async failover(trigger: RunRecord['trigger'], reason: string, stop?: AbortSignal): Promise<RunRecord | undefined> {
    const { leases } = this.deps;
    const lease = await leases.acquire(keys.lease(this.site), this.holder, this.settings.lease.ttlMs);
    if (!lease) {
      if (trigger === 'automatic') return undefined;
      const holder = await leases.current(keys.lease(this.site));
      throw new FailoverError(
        FailoverErrorCode.BUSY,
        `Another monitor holds the failover lease of site "${this.site}"` +
          `${holder ? ` (${holder.holder}, epoch ${holder.epoch})` : ''}: only the holder acts.`,
        {
          hint:
            'Wait for it (drkit failover status shows its progress); its lease lapses if it dies, and the ' +
            'next monitor resumes.',
        },
      );
    }
    let run: RunRecord | undefined;
    let resumed = false;
    try {
      const started = await this.change((s) => {
        const interrupted = s.state === 'failing_over' && s.run?.outcome === 'running' && s.run.epoch < lease.epoch;
        if (trigger === 'automatic' && s.state !== 'failing' && !interrupted) return undefined;
        if (trigger === 'automatic' && !interrupted && this.heldBack(s)) return undefined;
        if (trigger === 'manual' && (s.state === 'failed_over' || s.state === 'failing_back'))
          throw new FailoverError(
            FailoverErrorCode.BAD_STATE,
            `Site "${this.site}" is ${s.state}: there is nothing to fail over to.`,
            { hint: 'Fail back first (drkit failover failback --reason … --yes).' },
          );
        resumed = interrupted;
        const steps: StepRecord[] = this.settings.steps.map((step, i) => {
          const before = interrupted ? s.run!.steps[i] : undefined;
          return before?.status === 'ok' ? before : { step: stepName(step, i), status: 'not_run' };
        });
        run = {
          epoch: lease.epoch,
          trigger: interrupted ? s.run!.trigger : trigger,
          reason: interrupted ? s.run!.reason : reason,
          holder: lease.holder,
          startedAt: interrupted ? s.run!.startedAt : this.iso(),
          outcome: 'running',
          steps,
        };
        const now = this.clock.now();
        return {
          ...s,
          state: 'failing_over',
          since: interrupted ? s.since : this.iso(),
          reason: run.reason,
          epoch: lease.epoch,
          run,
          ...(interrupted
            ? {}
            : {
                lastFailoverAt: now,
                automatic:
                  trigger === 'automatic' ? [...s.automatic.filter((t) => now - t < DAY_MS), now] : s.automatic,
              }),
        };
      });
      if (started.run?.epoch !== lease.epoch || !run) {
        await leases.release(lease);
        return undefined;
      }
      await this.notify(
        'failing_over',
        `Failing over site ${this.site} (${run.trigger}: ${run.reason}); epoch ${lease.epoch}, ` +
          `by ${lease.holder}${resumed ? ', resuming an interrupted run' : ''}.`,
      );
      return await this.runSteps(lease, started, stop);
    } catch (error) {
      if (!run) await leases.release(lease).catch(() => {});
      throw error;
    }
  }

  private async runSteps(lease: Lease, site: SiteRecord, stop?: AbortSignal): Promise<RunRecord> {
    const lost = new AbortController();
    const halt = stop ? AbortSignal.any([lost.signal, stop]) : lost.signal;
    // Stopped (the monitor or its daemon shutting down): the lease goes back now and the run stays
    // `running`, so the next monitor's look resumes it from this step under a higher epoch.
    const stopped = async () => {
      clearInterval(renewing);
      await this.deps.leases.release(current).catch(() => {});
      this.deps.log?.(
        `failover: stopped during the sequence of site ${this.site} (epoch ${lease.epoch}); its lease is ` +
          `released for the next monitor to resume`,
      );
      return run;
    };
    let current = lease;
    // Renew at a third of the TTL; a lease that cannot be renewed stops the sequence (a zombie must not act).
    const renewing = setInterval(
      () => {
        this.deps.leases.renew(current, this.settings.lease.ttlMs).then(
          (l) => (current = l),
          (e) => lost.abort(e),
        );
      },
      Math.max(100, Math.floor(this.settings.lease.ttlMs / 3)),
    );
    let run = site.run!;
    try {
      for (const [i, step] of this.settings.steps.entries()) {
        if (run.steps[i]!.status === 'ok') continue;
        if (lost.signal.aborted) throw lost.signal.reason;
        if (stop?.aborted) return await stopped();
        run = await this.updateStep(lease, i, { status: 'running', epoch: lease.epoch, startedAt: this.iso() });
        const t0 = performance.now();
        const outcome = await this.runStep(step, i, lease.epoch, run.reason, halt);
        const ms = Math.round(performance.now() - t0);
        if (lost.signal.aborted) throw lost.signal.reason;
        if (stop?.aborted) return await stopped();
        run = await this.updateStep(lease, i, { ...outcome.record, status: outcome.ok ? 'ok' : 'failed', ms });
        const line =
          `step ${stepName(step, i)} ${outcome.ok ? 'ok' : 'FAILED'} in ${seconds(ms)}` +
          `${outcome.attempts > 1 ? ` (${outcome.attempts} tries)` : ''}: ${outcome.record.detail}`;
        if (!outcome.ok) {
          clearInterval(renewing);
          const done = run.steps.filter((st) => st.status === 'ok').map((st) => st.step);
          const notRun = run.steps.slice(i + 1).map((st) => st.step);
          run = (await this.finish(lease, 'failed', 'failing_over')).run!;
          await this.notify(
            'failing_over',
            `Failover of site ${this.site} STOPPED at ${line}. Done: ${done.join(', ') || 'nothing'}. Not ` +
              `run: ${notRun.join(', ') || 'nothing'}. The lease is kept (epoch ${lease.epoch}); nothing ` +
              `automatic happens until a person acts (drkit failover status, trigger or failback).`,
          );
          return run;
        }
        await this.notify('failing_over', line);
      }
      clearInterval(renewing);
      run = (await this.finish(lease, 'done', 'failed_over')).run!;
      const rpo = run.steps.find((st) => st.rpoMs !== undefined);
      await this.notify(
        'failed_over',
        `Site ${this.site} failed over (epoch ${lease.epoch}) in ` +
          `${seconds(Date.parse(run.finishedAt!) - Date.parse(run.startedAt))}` +
          `${rpo ? `; RPO achieved ${seconds(rpo.rpoMs!)} (snapshot ${rpo.snapshot})` : ''}. Watch it closely ` +
          `for 24 hours; fail back by hand.`,
      );
      await this.deps.leases.release(current).catch(() => {});
      return run;
    } finally {
      clearInterval(renewing);
    }
  }

  /** Runs one step with its timeout and retries; never throws (a failure is a result). */
  private async runStep(
    step: Step,
    i: number,
    epoch: number,
    reason: string,
    lost: AbortSignal,
  ): Promise<{ ok: boolean; attempts: number; record: Partial<StepRecord> }> {
    const timeoutMs = step.timeoutMs ?? (step.kind === 'verify' ? step.forMs + 60_000 : DEFAULT_STEP_TIMEOUT_MS);
    const tries = 1 + (step.retries ?? 0);
    let last = '';
    for (let attempt = 1; attempt <= tries; attempt++) {
      const signal = AbortSignal.any([lost, AbortSignal.timeout(timeoutMs)]);
      try {
        const record = await abortable(this.stepWork(step, i, epoch, reason, signal, timeoutMs), signal, timeoutMs);
        return { ok: true, attempts: attempt, record: { ...record, attempts: attempt } };
      } catch (error) {
        last = (error as Error).message;
        if (lost.aborted) break;
      }
    }
    return { ok: false, attempts: tries, record: { detail: last, attempts: tries } };
  }

  private async stepWork(
    step: Step,
    i: number,
    epoch: number,
    reason: string,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<Partial<StepRecord>> {
    const context = { epoch, reason, site: this.site, step: stepName(step, i) };
    if (step.kind === 'activate' || step.kind === 'dns') return { detail: await runHook(step, context, signal) };
    if (step.kind === 'verify') {
      const result = await waitForProbes(this.settings.standby.probes, {
        withinMs: timeoutMs,
        passForMs: step.forMs,
        signal,
      });
      if (!result.ok)
        throw new Error(
          `the standby's probes did not pass for ${seconds(step.forMs)}: ${result.results
            .filter((r) => !r.ok)
            .map((r) => `${r.probe}: ${r.error}`)
            .join('; ')}`,
        );
      return { detail: `the standby's ${result.results.length} probe(s) passed for ${seconds(step.forMs)}` };
    }
    const out = this.deps.restore
      ? await this.deps.restore(i, signal)
      : await restoreSources(await this.repository(), step, () => this.clock.now());
    const skipped = out.skipped.length
      ? ` (${out.skipped.length} newer snapshot(s) failed verification: ${out.skipped.map((s) => s.id).join(', ')})`
      : '';
    return {
      detail:
        `snapshot ${out.snapshot} of ${out.snapshotTime}, RPO ${seconds(out.rpoMs)}${skipped}: ` +
        `${out.restored.map((r) => `${r.source} → ${r.target} (${r.detail})`).join('; ')}`,
      snapshot: out.snapshot,
      snapshotTime: out.snapshotTime,
      rpoMs: out.rpoMs,
    };
  }

  /** What `failover` would do now, changing nothing (the restore's snapshot is chosen, verification included). */
  async plan(): Promise<{ status: FailoverStatus; nextEpoch: string; steps: PlannedStep[] }> {
    const status = await this.status();
    const steps: PlannedStep[] = [];
    for (const [i, step] of this.settings.steps.entries()) {
      let does: string;
      if (step.kind === 'activate' || step.kind === 'dns')
        does = step.command
          ? `run \`${step.command}\` with DRKIT_FAILOVER_EPOCH and DRKIT_FAILOVER_REASON set`
          : `POST {epoch, reason, site, step} to ${step.webhook}`;
      else if (step.kind === 'verify')
        does =
          `wait until the standby's ${this.settings.standby.probes.length} probe(s) pass ` +
          `for ${seconds(step.forMs)}`;
      else {
        const targets = step.sources.map((s) => `${s} → ${step.target[s]}`).join(', ');
        try {
          const { snapshot, skipped } = await chooseSnapshot(await this.repository(), step.sources, step.snapshot);
          does =
            `restore snapshot ${snapshot.id} of ${snapshot.time} (${step.snapshot}; RPO ` +
            `now ${seconds(this.clock.now() - Date.parse(snapshot.time))}` +
            `${skipped.length ? `; ${skipped.length} newer failed verification` : ''}): ${targets}`;
        } catch (error) {
          does = `restore ${step.snapshot} of ${targets}: WOULD FAIL: ${(error as Error).message}`;
        }
      }
      steps.push({ step: stepName(step, i), does });
    }
    const nextEpoch = status.lease
      ? `none: ${status.lease.holder} holds the lease (epoch ${status.lease.epoch})`
      : `above ${status.epoch} (the lease's next grant)`;
    return { status, nextEpoch, steps };
  }

  /**
   * The restore step (the `index`th step, else the first restore step) alone, now: no lease, no
   * state change. `drkit failover restore` runs it, which is how the scheduler daemon runs it.
   */
  async restoreStep(index?: number): Promise<RestoreOutcome> {
    const at = index ?? this.settings.steps.findIndex((s) => s.kind === 'restore');
    const step = this.settings.steps[at];
    if (step?.kind !== 'restore')
      throw new FailoverError(
        FailoverErrorCode.NO_SUCH_STEP,
        index === undefined
          ? 'failover.steps has no restore step.'
          : `Step ${index + 1} of failover.steps is ${step ? `the ${step.kind} step` : 'not there'}, not a ` +
              `restore step.`,
        {
          hint: 'drkit failover plan lists the steps with their numbers.',
        },
      );
    return restoreSources(await this.repository(), step, () => this.clock.now());
  }

  /** By hand, after a failover: failing_back, then healthy; the incident is resolved. */
  async failback(reason: string): Promise<SiteRecord> {
    const lease = await this.deps.leases.acquire(keys.lease(this.site), this.holder, this.settings.lease.ttlMs);
    if (!lease)
      throw new FailoverError(
        FailoverErrorCode.BUSY,
        `Another monitor holds the failover lease of site "${this.site}": only the holder acts.`,
        { hint: 'Wait until its run ends (drkit failover status), then fail back.' },
      );
    try {
      await this.change((s) => {
        if (s.state !== 'failed_over' && !(s.state === 'failing_over' && s.run?.outcome !== 'running'))
          throw new FailoverError(
            FailoverErrorCode.BAD_STATE,
            `Site "${this.site}" is ${s.state}: only a site that failed over (or whose failover stopped) fails back.`,
            { hint: 'drkit failover status shows where it stands.' },
          );
        return { ...s, state: 'failing_back', since: this.iso(), reason };
      });
      await this.notify('failing_back', `Failing back site ${this.site} by hand: ${reason}.`);
      const site = await this.change((s) => ({
        ...s,
        state: 'healthy',
        since: this.iso(),
        reason: `failed back: ${reason}`,
      }));
      await this.report({
        severity: 'P1',
        message: `Site ${this.site} failed back to the primary: ${reason}.`,
        resolve: true,
      });
      return site;
    } finally {
      await this.deps.leases.release(lease).catch(() => {});
    }
  }

  async setPaused(paused: boolean): Promise<SiteRecord> {
    return this.change((s) => (s.paused === paused ? undefined : { ...s, paused }));
  }

  private async repository(): Promise<Repository> {
    if (!this.deps.openRepository) throw new Error('no repository is configured for the restore step');
    return this.deps.openRepository();
  }

  private iso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** A conditional change of the site record (undefined from `next`: no change). */
  private async change(next: (s: SiteRecord) => SiteRecord | undefined): Promise<SiteRecord> {
    let result: SiteRecord | undefined;
    await updateEntry<SiteRecord>(this.deps.store, keys.site(this.site), (s) => {
      const current = s ?? newSite(this.clock.now());
      result = next(current) ?? current;
      return result;
    });
    return result!;
  }

  /** Records a step's progress, only while this run's epoch is still the site's (fencing in the store too). */
  private async updateStep(lease: Lease, i: number, patch: Partial<StepRecord>): Promise<RunRecord> {
    const site = await this.change((s) => {
      if (s.epoch !== lease.epoch || !s.run) throw leaseLostTo(s.epoch, lease.epoch);
      const steps = s.run.steps.map((st, j) => (j === i ? { ...st, ...patch } : st));
      return { ...s, run: { ...s.run, steps } };
    });
    return site.run!;
  }

  private async finish(lease: Lease, outcome: 'done' | 'failed', state: FailoverState): Promise<SiteRecord> {
    return this.change((s) => {
      if (s.epoch !== lease.epoch || !s.run) throw leaseLostTo(s.epoch, lease.epoch);
      return {
        ...s,
        state,
        since: state === s.state ? s.since : this.iso(),
        run: { ...s.run, outcome, finishedAt: this.iso() },
      };
    });
  }

  private async notify(state: FailoverState, message: string): Promise<void> {
    await this.report({ severity: SEVERITY[state], message });
  }

  private async report(event: Pick<DrkitEvent, 'severity' | 'message' | 'resolve'>): Promise<void> {
    if (!this.deps.notifier) return;
    try {
      await this.deps.notifier.report({
        by: 'failover',
        title: `Failover of site ${this.site}`,
        components: [this.site],
        dedupKey: `failover:${this.site}`,
        ...event,
      });
      await this.deps.deliver?.();
    } catch (error) {
      this.deps.log?.(`failover: could not report to notify: ${(error as Error).message}`);
    }
  }
}

function leaseLostTo(now: number, mine: number): Error {
  return Object.assign(new Error(`the site's epoch is ${now}, not this run's ${mine}: another monitor took over`), {
    code: StateErrorCode.LEASE_LOST,
  });
}

/** Rejects when `signal` aborts (a step's timeout or a lost lease), even if `work` ignores it. */
function abortable<R>(work: Promise<R>, signal: AbortSignal, timeoutMs: number): Promise<R> {
  return new Promise((resolve, reject) => {
    const stop = () =>
      reject(
        signal.reason instanceof Error && signal.reason.name !== 'TimeoutError'
          ? signal.reason
          : new Error(`did not finish within ${seconds(timeoutMs)}`),
      );
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}
