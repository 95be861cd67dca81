import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseDuration, type RunbookConfig, type RunbookStep, stepId } from '@drkit/config';
import type { Notifier } from '@drkit/notify';
import type { StateStore } from '@drkit/state';
import { RunbookError, RunbookErrorCode } from './errors.js';

/** What a step run did; kept in the run record and summarised on the incident's timeline. */
export interface StepRecord {
  id: string;
  type: RunbookStep['type'];
  title: string;
  status: 'pending' | 'running' | 'ok' | 'failed' | 'not-run';
  started_at?: string;
  ended_at?: string;
  seconds?: number;
  /** One line: what it did, or why it failed. */
  summary?: string;
  /** The snapshot a backup step made or a restore step restored (for the data-loss window). */
  snapshot?: string;
}

export interface RunRecord {
  id: string;
  runbook: string;
  incident: string | null;
  dry_run: boolean;
  started_at: string;
  ended_at?: string;
  /** A resumed run says from which step. */
  from?: string;
  status: 'running' | 'ok' | 'failed';
  steps: StepRecord[];
}

/** A config source as steps address it. */
export interface SourceRef {
  name: string;
  type: 'files' | 'redis';
  path?: string;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunbookDeps {
  /** Runs a drkit command with the run's --config/--repo/--state (the CLI: itself, in a child process). */
  drkit(args: string[], timeoutMs: number): Promise<CommandResult>;
  /** Runs a shell command; undefined when it exits 0, else why not. */
  shell(command: string, timeoutMs: number): Promise<string | undefined>;
  /** Runs probes until all pass or `withinMs` runs out (once, with 0). */
  probes(probes: unknown[], withinMs: number): Promise<{ ok: boolean; detail: string }>;
  /** The human gate: true only when a person said yes (or --yes was given). */
  confirm(message: string): Promise<boolean>;
  sources: SourceRef[];
  notifier?: Notifier;
  store?: StateStore;
  now?: () => number;
  /** Told when each step starts and ends, for progress lines. */
  onStep?: (step: StepRecord, index: number, total: number) => void;
}
const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** Run records live under this prefix; ids start with their UTC time. */
export const RUN_PREFIX = 'runbook-runs/';

/** What a step would do, for a dry run and for its timeline entry. */
export interface StepPlan {
  /** drkit commands (without the global flags), or undefined when the step runs in-process. */
  drkit?: string[][];
  /** The step cannot run against this config (e.g. revoke-tokens without a Redis source). */
  skip?: string;
  describe: string;
}

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
export const shellLine = (args: string[]) => args.map(q).join(' ');

/** The drkit commands a step maps to, for this config's sources. */
export function planStep(step: RunbookStep, sources: SourceRef[], runbook: string): StepPlan {
  const firstRedis = sources.find((s) => s.type === 'redis');
  const withCommands = (drkit: string[][]) => ({
    drkit,
    describe: drkit.map((a) => `drkit ${shellLine(a)}`).join('; '),
  });
  switch (step.type) {
    case 'backup':
      return withCommands([
        ['backup', ...(step.emergency ? ['--emergency'] : []), ...step.tags.flatMap((t) => ['--tag', t])],
      ]);
    case 'restore': {
      const chosen = step.sources ? sources.filter((s) => step.sources!.includes(s.name)) : sources;
      const missing = (step.sources ?? []).filter((n) => !sources.some((s) => s.name === n));
      if (missing.length)
        return { skip: `the config has no source ${missing.map((n) => `"${n}"`).join(', ')}`, describe: 'restore' };
      if (!chosen.length) return { skip: 'the config has no sources', describe: 'restore every source of the config' };
      return withCommands(
        chosen.map((s) =>
          s.type === 'redis'
            ? ['restore', step.snapshot, '--source', s.name, '--mode', 'replace', '--yes']
            : [
                'restore',
                step.snapshot,
                '--source',
                s.name,
                '--target',
                step.target ? path.join(step.target, s.name) : s.path!,
                '--overwrite',
                'if-changed',
              ],
        ),
      );
    }
    case 'verify':
      return withCommands([['verify', step.snapshot, ...(step.mark_clean ? ['--mark-clean'] : [])]]);
    case 'revoke-tokens': {
      const source = step.source ?? firstRedis?.name;
      if (!source) return { skip: 'the config has no Redis source', describe: 'revoke tokens' };
      return withCommands([['redis', 'revoke-tokens', '--source', source, '--pattern', step.pattern, '--yes']]);
    }
    case 'rotate-secrets':
      return withCommands([['secrets', 'rotate', '--env-file', step.env_file, '--keys', step.keys.join(',')]]);
    case 'log-scan': {
      const globs = step.glob ?? sources.filter((s) => s.type === 'files').map((s) => path.join(s.path!, '**/*.log'));
      if (!globs.length) return { skip: 'no glob given and the config has no file source', describe: 'scan logs' };
      return withCommands([
        [
          'logs',
          'scan',
          ...globs.flatMap((g) => ['--glob', g]),
          ...(step.patterns ?? []).flatMap((p) => ['--pattern', p]),
        ],
      ]);
    }
    case 'failover':
      return withCommands([['failover', step.action, '--reason', `runbook ${runbook}`, '--yes']]);
    case 'command':
      return { describe: `run: ${step.run}` };
    case 'probe':
      return {
        describe: `probe ${
          step.probes === 'service' ? "the service's health probes" : `${step.probes.length} probe(s)`
        } once`,
      };
    case 'wait-until-healthy':
      return {
        describe:
          `wait up to ${step.within} until ` +
          `${step.probes === 'service' ? "the service's health probes" : `${step.probes.length} probe(s)`} pass`,
      };
    case 'notify':
      return { describe: `incident update${step.status ? ` (${step.status})` : ''}: ${step.message}` };
    case 'confirm':
      return { describe: `ask: ${step.message}` };
  }
}

export interface RunOptions {
  name: string;
  runbook: RunbookConfig;
  dryRun?: boolean;
  /** Start at this step (a killed or failed run resumes here). */
  from?: string;
  /** Record on this incident instead of opening one. */
  incident?: string;
}

/**
 * Runs a runbook: each step in order, recording it (start, end, result, a one-line summary) in
 * the run record and on the incident's timeline. The first failing step stops the run; the
 * record then says what ran, what did not, and how to resume. A dry run only describes.
 */
export async function runRunbook(options: RunOptions, deps: RunbookDeps): Promise<RunRecord> {
  const now = deps.now ?? Date.now;
  const { runbook, name } = options;
  const ids = runbook.steps.map((s, i) => stepId(s, i));
  const start = options.from === undefined ? 0 : ids.indexOf(options.from);
  if (start < 0)
    throw new RunbookError(RunbookErrorCode.NO_SUCH_STEP, `Runbook "${name}" has no step "${options.from}".`, {
      hint: `Its steps: ${ids.join(', ')}.`,
    });
  const started = now();
  const record: RunRecord = {
    id: `${new Date(started).toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`,
    runbook: name,
    incident: options.incident ?? null,
    dry_run: options.dryRun === true,
    started_at: new Date(started).toISOString(),
    ...(options.from ? { from: options.from } : {}),
    status: 'running',
    steps: runbook.steps.map((s, i) => ({
      id: ids[i]!,
      type: s.type,
      title: s.title ?? planStep(s, deps.sources, name).describe,
      status: i < start ? 'not-run' : 'pending',
    })),
  };
  const say = async (
    message: string,
    status?: 'identified' | 'monitoring' | 'resolved' | 'investigating',
    internal = true,
  ) => {
    if (record.dry_run || !deps.notifier || !record.incident) return;
    await deps.notifier.update(record.incident, { message, by: 'runbook', internal, ...(status ? { status } : {}) });
  };
  if (!record.dry_run && deps.notifier && !record.incident) {
    const opened = await deps.notifier.report({
      by: 'runbook',
      severity: runbook.severity,
      title: `Runbook ${name}: ${runbook.description}`,
      message: `Runbook ${name} started (${runbook.steps.length} steps).`,
      ...(runbook.component ? { components: [runbook.component] } : {}),
      internal: true,
    });
    record.incident = opened.incident?.id ?? null;
  } else if (options.from)
    await say(`Runbook ${name} resumed from step ${options.from} (steps before it were not run again).`);
  const save = () => (record.dry_run ? undefined : deps.store?.put(`${RUN_PREFIX}${record.id}`, record));
  await save();
  for (let i = start; i < runbook.steps.length; i++) {
    const step = runbook.steps[i]!;
    const rec = record.steps[i]!;
    const t0 = now();
    rec.status = 'running';
    rec.started_at = new Date(t0).toISOString();
    deps.onStep?.(rec, i, runbook.steps.length);
    await save();
    let failure: string | undefined;
    try {
      const done: { summary: string; snapshot?: string } = record.dry_run
        ? { summary: `would ${planStep(step, deps.sources, name).describe}` }
        : await runStep(step, name, record, deps);
      rec.summary = done.summary;
      if (done.snapshot) rec.snapshot = done.snapshot;
    } catch (e) {
      failure = (e as Error).message;
      rec.summary = failure;
    }
    const t1 = now();
    rec.status = failure === undefined ? 'ok' : 'failed';
    rec.ended_at = new Date(t1).toISOString();
    rec.seconds = (t1 - t0) / 1000;
    deps.onStep?.(rec, i, runbook.steps.length);
    await save();
    await say(
      `Step ${i + 1}/${runbook.steps.length} ${rec.id} (${rec.type}): ${rec.status} ` +
        `in ${rec.seconds.toFixed(1)} s (${rec.started_at} → ${rec.ended_at}): ${rec.summary ?? ''}`,
    );
    if (failure !== undefined) {
      for (const later of record.steps.slice(i + 1)) later.status = 'not-run';
      record.status = 'failed';
      record.ended_at = new Date(t1).toISOString();
      await save();
      await say(`Runbook ${name} stopped at step ${rec.id}: ${failure}. To resume: ${resumeCommand(record)}`);
      return record;
    }
  }
  record.status = 'ok';
  record.ended_at = new Date(now()).toISOString();
  await save();
  await say(`Runbook ${name} finished: ${runbook.steps.length - start} step(s) ran.`);
  return record;
}

/** The command that resumes a failed run at its failed step. */
export function resumeCommand(record: RunRecord): string {
  const failed = record.steps.find((s) => s.status === 'failed' || s.status === 'running');
  return (
    `drkit runbook run ${record.runbook}${failed ? ` --from ${failed.id}` : ''}` +
    `${record.incident ? ` --incident ${record.incident}` : ''}`
  );
}

/** Runs one step for real; throws with the reason when it fails. */
async function runStep(
  step: RunbookStep,
  name: string,
  record: RunRecord,
  deps: RunbookDeps,
): Promise<{ summary: string; snapshot?: string }> {
  const timeoutMs = step.timeout ? parseDuration(step.timeout) : DEFAULT_TIMEOUT_MS;
  const plan = planStep(step, deps.sources, name);
  if (plan.skip) return { summary: `nothing to do: ${plan.skip}` };
  if (plan.drkit) {
    const summaries: string[] = [];
    let snapshot: string | undefined;
    for (const args of plan.drkit) {
      const r = await deps.drkit(args, timeoutMs);
      if (r.code !== 0)
        throw new Error(
          `drkit ${shellLine(args)} exited with ${r.code ?? 'a signal'}: ${lastLine(r.stderr) || lastLine(r.stdout)}`,
        );
      const out = parsed(r.stdout);
      summaries.push(summarize(args, out, r.stdout));
      snapshot ??= step.type === 'backup' ? out?.id : step.type === 'restore' ? out?.snapshot : undefined;
    }
    return { summary: summaries.join('; '), ...(snapshot ? { snapshot } : {}) };
  }
  switch (step.type) {
    case 'command': {
      const why = await deps.shell(step.run, timeoutMs);
      if (why) throw new Error(`${step.run}: ${why}`);
      return { summary: `${step.run}: exit 0` };
    }
    case 'probe':
    case 'wait-until-healthy': {
      const result = await deps.probes(
        step.probes === 'service' ? [] : step.probes,
        step.type === 'probe' ? 0 : parseDuration(step.within),
      );
      if (!result.ok) throw new Error(result.detail);
      return { summary: result.detail };
    }
    case 'notify': {
      if (!deps.notifier || !record.incident) return { summary: 'no incident to update' };
      await deps.notifier.update(record.incident, {
        message: step.message,
        by: 'runbook',
        internal: step.internal,
        ...(step.status ? { status: step.status } : {}),
      });
      return { summary: `incident ${record.incident}${step.status ? ` now ${step.status}` : ''}` };
    }
    case 'confirm': {
      if (!(await deps.confirm(step.message)))
        throw new RunbookError(RunbookErrorCode.NOT_CONFIRMED, `Not confirmed: ${step.message}`);
      return { summary: `confirmed: ${step.message}` };
    }
    default:
      throw new Error(`internal: step type ${step.type} has no runner`);
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function parsed(stdout: string): any {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

/** One line from a drkit command's --json output. */
function summarize(args: string[], out: any, stdout: string): string {
  if (out === undefined) return lastLine(stdout) || `drkit ${args[0]}: ok`;
  const [command] = args;
  if (command === 'backup')
    return `snapshot ${out.snapshot?.id ?? out.id ?? '?'}${out.tags?.length ? ` (${out.tags.join(', ')})` : ''}`;
  if (command === 'restore')
    return out.restored !== undefined
      ? `${out.restored} keys into ${out.target}`
      : `${out.written?.files ?? 0} files into ${out.target} from ${out.snapshot}`;
  if (command === 'verify')
    return `${(Array.isArray(out) ? out : (out.snapshots ?? [out])).length} snapshot(s) verified`;
  if (command === 'redis') return `${out.total ?? 0} keys removed`;
  if (command === 'secrets')
    return `rotated ${out.rotated?.join(', ')} in ${out.env_file} (the previous file: ${out.previous})`;
  if (command === 'logs')
    return `${out.files} file(s), ${out.lines} lines: ${(out.matches ?? [])
      .map(
        (m: { pattern: string; count: number; first_seen: string | null; last_seen: string | null }) =>
          `${m.pattern} ${m.count}${m.count ? ` (${m.first_seen} … ${m.last_seen})` : ''}`,
      )
      .join(', ')}`;
  return JSON.stringify(out).slice(0, 200);
}
