import {
  type Failover,
  type FailoverStatus,
  formatDuration as ms,
  type RunRecord,
  type StepRecord,
} from '@drkit/failover';
import { loadConfig, openRepo, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { type GlobalOptions, printJson, say, warn } from '../output.js';

interface FailoverFlags extends GlobalOptions {
  reason?: string;
  yes?: boolean;
  monitor?: string;
  step?: number;
}

const pct = (rate: number) => `${(rate * 100).toFixed(1)} %`;

/**
 * Opens the config's failover (shared with the scheduler daemon: @drkit/failover's openFailover) over the state store,
 * with notify and the repository on demand.
 */
async function openFailover(opts: FailoverFlags): Promise<{ failover: Failover; close: () => Promise<void> }> {
  const config = await loadConfig(opts);
  const { openFailover: open } = await import('@drkit/failover');
  const { DEFAULT_STATE_LOCATION, openStateStore } = await import('@drkit/state');
  const { notifierFor } = await import('../notify-context.js');
  const store = await openStateStore(process.env.DRKIT_STATE ?? config?.state ?? DEFAULT_STATE_LOCATION);
  const notifier = notifierFor(config, store);
  // Sends what a change queued (pages first); what fails waits for the next report or `drkit notify flush`.
  const deliver = async () => {
    if (notifier.channels.size > 0) await notifier.deliver().catch((e: Error) => warn(`notifications: ${e.message}`));
  };
  const opened = await open({
    config,
    store,
    notifier,
    deliver,
    monitor: opts.monitor,
    openRepository: () => openRepo(opts, config),
    log: warn,
  }).catch(async (error) => {
    await store.close();
    throw error;
  });
  return {
    failover: opened.failover,
    close: async () => {
      await opened.close();
      await store.close();
    },
  };
}

export async function run([action]: unknown[], opts: FailoverFlags): Promise<ExitCode> {
  if ((action === 'trigger' || action === 'failback') && !opts.reason?.trim())
    throw usage(
      `drkit failover ${action} needs --reason TEXT.`,
      'Say why, e.g. --reason "primary datacenter lost power": it goes to the incident and every hook.',
    );
  if (action === 'failback' && !opts.yes)
    throw usage(
      'drkit failover failback needs --yes.',
      'Failing back moves traffic to the primary again: check it is healthy first (drkit failover status), ' +
        'then add --yes.',
    );
  if (action === 'trigger' && !opts.yes)
    throw usage(
      'drkit failover trigger needs --yes.',
      'Run drkit failover plan to see what it would do, then add --yes.',
    );
  const { failover, close } = await openFailover(opts);
  try {
    return await act(action as string, failover, opts);
  } finally {
    await close();
  }
}

async function act(action: string, failover: Failover, opts: FailoverFlags): Promise<ExitCode> {
  if (action === 'status') return showStatus(await failover.status(), opts);
  if (action === 'plan') {
    const plan = await failover.plan();
    if (opts.json) printJson({ dryRun: true, ...plan });
    else {
      say(`failover plan for site ${plan.status.site} (dry run: nothing changes); now ${plan.status.state}`);
      say(`  fencing epoch: ${plan.nextEpoch}`);
      if (plan.status.held) say(`  an automatic failover is held back: ${plan.status.held}`);
      for (const step of plan.steps) say(`  ${step.step}: ${step.does}`);
    }
    return ExitCode.OK;
  }
  if (action === 'trigger') {
    const run = (await failover.failover('manual', opts.reason!))!;
    if (opts.json) printJson(run);
    else printRun(run);
    return run.outcome === 'done' ? ExitCode.OK : ExitCode.ERROR;
  }
  if (action === 'failback') {
    const site = await failover.failback(opts.reason!);
    if (opts.json) printJson(site);
    else say(`site ${failover.settings.site} failed back: ${site.state}`);
    return ExitCode.OK;
  }
  if (action === 'restore') {
    // The restore step alone (how the scheduler daemon runs it, in a child process): no lease, no state change.
    const out = await failover.restoreStep(opts.step === undefined ? undefined : opts.step - 1);
    if (opts.json) printJson(out);
    else {
      say(`restored snapshot ${out.snapshot} of ${out.snapshotTime} (RPO ${ms(out.rpoMs)})`);
      for (const r of out.restored) say(`  ${r.source} → ${r.target}: ${r.detail}`);
      for (const s of out.skipped) say(`  skipped ${s.id}: ${s.why}`);
    }
    return ExitCode.OK;
  }
  if (action === 'pause' || action === 'resume') {
    const site = await failover.setPaused(action === 'pause');
    if (opts.json) printJson({ site: failover.settings.site, paused: site.paused });
    else
      say(
        site.paused
          ? `automatic failover of site ${failover.settings.site} paused (drkit failover resume to allow it again)`
          : `automatic failover of site ${failover.settings.site} allowed`,
      );
    return ExitCode.OK;
  }
  // monitor: the loop in the foreground until SIGINT/SIGTERM (exit
  // 130/143); a sequence under way stops at once and releases its lease.
  const stop = stopsSafely(
    'a failover part-way without releasing its lease: it lapses at its TTL and the next monitor resumes the ' +
      'run under a higher epoch',
  );
  say(`monitoring site ${failover.settings.site} as ${failover.monitor} (Ctrl-C to stop)`);
  let last = '';
  await failover.monitorLoop(stop, (tick) => {
    if (opts.json) printJson({ state: tick.state, verdict: tick.verdict, ...(tick.acted ? { run: tick.acted } : {}) });
    // A line when the state changes (the reason's figures change at every look).
    else if (tick.state !== last)
      say(`${new Date(tick.verdict.at).toISOString()} ${tick.state}: ${tick.verdict.reason ?? 'probes pass'}`);
    if (tick.acted && !opts.json) printRun(tick.acted);
    last = tick.state;
  });
  return ExitCode.OK;
}

function stepLine(s: StepRecord): string {
  const took = s.ms === undefined ? '' : ` in ${ms(s.ms)}`;
  return (
    `  ${s.step.padEnd(11)} ${s.status}${took}${s.epoch ? ` (epoch ${s.epoch})` : ''}` +
    `${s.detail ? `: ${s.detail}` : ''}`
  );
}

function printRun(run: RunRecord): void {
  say(
    `failover ${run.outcome === 'done' ? 'done' : run.outcome === 'failed' ? 'STOPPED' : 'running'} ` +
      `(epoch ${run.epoch}, ${run.trigger}: ${run.reason})`,
  );
  for (const s of run.steps) say(stepLine(s));
  const rpo = run.steps.find((s) => s.rpoMs !== undefined);
  if (rpo) say(`  RPO achieved: ${ms(rpo.rpoMs!)} (snapshot ${rpo.snapshot} of ${rpo.snapshotTime})`);
  if (run.outcome === 'failed') {
    const at = run.steps.find((s) => s.status === 'failed');
    say(
      `  stopped at step ${at?.step}; the lease is kept until its TTL, and nothing automatic happens until ` +
        `a person acts (trigger again or failback)`,
    );
  }
}

function showStatus(status: FailoverStatus, opts: FailoverFlags): ExitCode {
  if (opts.json) {
    printJson(status);
    return ExitCode.OK;
  }
  say(`site ${status.site}: ${status.state} since ${status.since}${status.reason ? ` (${status.reason})` : ''}`);
  say(
    `  epoch ${status.epoch}; lease ${
      status.lease
        ? `held by ${status.lease.holder} (epoch ${status.lease.epoch}) until ` +
          `${new Date(status.lease.expiresAt).toISOString()}`
        : 'free'
    }`,
  );
  if (status.paused) say('  automatic failover PAUSED (drkit failover resume)');
  else if (status.held) say(`  automatic failover held back: ${status.held}`);
  for (const m of status.monitors) {
    const v = m.verdict;
    say(
      `  monitor ${m.monitor} at ${new Date(v.at).toISOString()}: ${v.health}; error ` +
        `rate ${pct(v.errorRate)} of ${v.samples}, unreachable for ${ms(v.unreachableForMs)}`,
    );
    for (const r of m.results)
      say(`    ${r.ok ? 'ok  ' : 'FAIL'} ${r.probe} (${r.ms} ms)${r.error ? `: ${r.error}` : ''}`);
  }
  if (status.run) printRun(status.run);
  return ExitCode.OK;
}
