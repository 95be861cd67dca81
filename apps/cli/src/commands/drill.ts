import { type DrkitConfig, objectives, parseDuration } from '@drkit/config';
import {
  type DrillOptions,
  type DrillReport,
  drillHistory,
  drillMarkdown,
  findDrill,
  findRunbook,
  formatSeconds,
  runDrill,
  runRunbook,
  saveDrill,
} from '@drkit/runbooks';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { type NotifyOptions, openNotifier, sayDelivery } from '../notify-context.js';
import { printJson, say, table, warn } from '../output.js';
import { drillService } from '../drill-service.js';
import { resolveRef } from '../selection.js';
import { sourcesOf } from '../runbook-sources.js';
import { openState } from '../state-context.js';

interface DrillFlags extends NotifyOptions {
  snapshot: string;
  scenario: 'restore' | 'full';
  runbook: string;
  keepSandbox?: boolean;
}

/** A dry run calls none of a runbook's effects; these say so if one ever did. */
const NOTHING = async (): Promise<never> => {
  throw new Error('internal: a dry run ran a step');
};

/** `drkit drill`: restore into a sandbox, check, start the service, measure; exit 1 when anything failed. */
export async function run(_args: unknown[], opts: DrillFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const snapshot = await resolveRef(repo, opts.snapshot, {}, config);
  const goals = objectives(config ?? {});
  const notifier = await openNotifier(opts);
  try {
    const report = await runDrill({
      repo,
      snapshot,
      scenario: opts.scenario,
      objectives: { rpoMs: parseDuration(goals.rpo), rtoMs: parseDuration(goals.rto) },
      ...(config?.drill?.sandbox ? { sandboxParent: config.drill.sandbox } : {}),
      ...(config?.drill?.redis ? { redisUrl: config.drill.redis } : {}),
      redisServer: config?.drill?.redis_server ?? 'redis-server',
      ...(config?.drill?.service ? { service: drillService(config.drill.service) } : {}),
      keepSandbox: opts.keepSandbox === true,
      ...(opts.scenario === 'full' ? fullScenario(config, opts.runbook) : {}),
      jsonlGlobs: config?.validation.jsonl ?? ['**/*.jsonl'],
      report: (event) => notifier.report(event),
      onPhase: (phase) => (opts.json ? undefined : warn(`drill: ${phase}…`)),
      onWarning: (message) => warn(`warning: ${message}`),
      signal: stopsSafely(
        'the sandbox (drkit-drill-* in drill.sandbox or the temp folder), its scratch redis-server and the ' +
          'service, if started: stop them and remove the folder by hand',
      ),
    });
    await saveDrill(notifier.store, report);
    const delivery = await notifier.deliver();
    if (opts.json) printJson(report);
    else say(drillMarkdown(report));
    if (report.incident) sayDelivery(notifier, delivery);
    return report.passed ? ExitCode.OK : ExitCode.ERROR;
  } finally {
    await notifier.store.close();
  }
}

/**
 * The quarterly simulation: every source of the config must
 * be in the snapshot, and a runbook runs in dry-run alongside.
 */
function fullScenario(
  config: DrkitConfig | undefined,
  name: string,
): Pick<DrillOptions, 'expectedSources' | 'dryRunbook'> {
  const { runbook } = findRunbook(name, config?.runbooks);
  const sources = sourcesOf(config);
  return {
    expectedSources: sources.map((s) => s.name),
    dryRunbook: () =>
      runRunbook(
        { name, runbook, dryRun: true },
        { drkit: NOTHING, shell: NOTHING, probes: NOTHING, confirm: NOTHING, sources },
      ),
  };
}

/** `drkit drill history`: RTO and RPO of every drill, oldest first. */
export async function history(_args: unknown[], opts: NotifyOptions): Promise<ExitCode> {
  const store = await openState(opts, await loadConfig(opts));
  try {
    const drills = await drillHistory(store);
    if (opts.json) printJson(drills.map(trend));
    else if (drills.length === 0) say('no drills recorded yet: run drkit drill');
    else
      table(
        ['ID', 'RESULT', 'SNAPSHOT', 'RTO', 'RPO', 'FAILED PHASES'],
        drills.map((d) => [
          d.id,
          d.passed ? 'passed' : 'FAILED',
          d.snapshot.id,
          formatSeconds(d.rto_seconds),
          formatSeconds(d.rpo_seconds),
          d.phases
            .filter((p) => !p.ok)
            .map((p) => p.name)
            .join(', '),
        ]),
      );
    return ExitCode.OK;
  } finally {
    await store.close();
  }
}

/** `drkit drill show ID`: one drill's report. */
export async function show([id]: unknown[], opts: NotifyOptions): Promise<ExitCode> {
  const store = await openState(opts, await loadConfig(opts));
  try {
    const found = await findDrill(store, String(id));
    if (opts.json) printJson(found.report);
    else say(found.markdown);
    return ExitCode.OK;
  } finally {
    await store.close();
  }
}

function trend(d: DrillReport) {
  return {
    id: d.id,
    started_at: d.started_at,
    scenario: d.scenario,
    passed: d.passed,
    snapshot: d.snapshot.id,
    rto_seconds: d.rto_seconds,
    rpo_seconds: d.rpo_seconds,
    objectives: d.objectives,
    phases: d.phases.map((p) => ({ name: p.name, ok: p.ok, seconds: p.seconds })),
    ...(d.incident ? { incident: d.incident } : {}),
  };
}
