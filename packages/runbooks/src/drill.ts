import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDrkitError } from '@drkit/errors';
import type { DrkitEvent } from '@drkit/notify';
import { RedisConnection } from '@drkit/redis-source';
import type { Repository, SnapshotMeta, SourceMeta } from '@drkit/repository';
import { executeRestore, planRestore, restoreRedis } from '@drkit/restore-core';
import { RunbookError, RunbookErrorCode } from './errors.js';
import { checkRestoredFiles, checkRestoredRedis, type DrillProblem, type SourceCheck } from './read-back.js';
import type { DrillReport, PhaseName, PhaseReport } from './report.js';
import type { RunRecord } from './runner.js';
import { type ScratchRedis, startScratchRedis } from './scratch-redis.js';
import { runCommand, type ServiceSpec, startService } from './service.js';

export interface DrillOptions {
  repo: Repository;
  /** The snapshot to restore, already resolved (the CLI: `latest` of the config's sources). */
  snapshot: SnapshotMeta;
  scenario?: 'restore' | 'full';
  objectives: { rpoMs: number; rtoMs: number };
  /** The folder the sandbox is made in (default: the system's temporary folder). */
  sandboxParent?: string;
  keepSandbox?: boolean;
  /** A scratch Redis to restore into (its databases are emptied); else `redisServer` is started per Redis source. */
  redisUrl?: string;
  redisServer?: string;
  service?: ServiceSpec;
  jsonlGlobs?: string[];
  /** Where a failed drill is reported (P3; P2 when an objective is missed) and a passing one resolves it. */
  report?: (event: DrkitEvent) => Promise<{ incident?: { id: string } | undefined }>;
  now?: () => number;
  /** Told as each phase begins (awaited). */
  onPhase?: (phase: PhaseName) => void | Promise<void>;
  onWarning?: (message: string) => void;
  /**
   * Aborts at the next phase (restores stop at their safe points); the sandbox, scratch Redis and service are cleaned
   * up, then the abort's reason is thrown.
   */
  signal?: AbortSignal;
  /** Full scenario: the config's sources, each of which the snapshot must hold. */
  expectedSources?: string[];
  /** Full scenario: a runbook run in dry-run alongside (its record goes into the report). */
  dryRunbook?: () => Promise<RunRecord>;
}

const MAX_PROBLEMS = 100;
/** Phases that run after the service is healthy: not part of the RTO. */
const AFTER_RTO = new Set<PhaseName>(['smoke', 'service-stop', 'runbook-dry-run']);

/** Environment names for a source's sandbox folder: DRKIT_DRILL_<NAME>, upper case, other characters as _. */
export function sourceEnvName(source: string): string {
  return `DRKIT_DRILL_${source.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * A recovery drill: restores a snapshot into a fresh sandbox (a folder per file source, a
 * scratch Redis per Redis source), reads every restored file and key back against the
 * snapshot, starts the service there and waits for its health probes, runs its smoke test,
 * stops it, and measures RTO (start → healthy) and RPO (the snapshot's age). It never throws for
 * what it finds: the report says what failed; it throws only when it cannot make its sandbox.
 */
export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const now = options.now ?? Date.now;
  const { repo, snapshot } = options;
  const started = now();
  const id = `${new Date(started).toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
  const sandbox = path.join(options.sandboxParent ?? os.tmpdir(), `drkit-drill-${id}`);
  await makeSandbox(sandbox);
  const phases: PhaseReport[] = [];
  const problems: DrillProblem[] = [];
  let problemsTotal = 0;
  const sources: SourceCheck[] = [];
  const scratch = new Map<string, { server?: ScratchRedis; url: string }>();
  let service: DrillReport['service'] = null;
  let healthyAt: number | undefined;
  const chain: DrillReport['chain'] = [];
  let runbook: RunRecord | undefined;

  /** Runs a phase; false when it failed (its error is a problem of that phase). */
  const phase = async (
    name: PhaseName,
    work: (problem: (p: Omit<DrillProblem, 'phase'>) => void) => Promise<string | undefined>,
  ): Promise<boolean> => {
    options.signal?.throwIfAborted();
    await options.onPhase?.(name);
    const t0 = now();
    const before = problemsTotal;
    const problem = (p: Omit<DrillProblem, 'phase'>) => {
      problemsTotal++;
      if (problems.length < MAX_PROBLEMS) problems.push({ phase: name, ...p });
    };
    let detail: string | undefined;
    try {
      detail = await work(problem);
    } catch (e) {
      // An interruption is not a finding: it ends the drill (after the clean-up).
      if (options.signal?.aborted) throw options.signal.reason;
      problem({ message: isDrkitError(e) ? `${e.message} [${e.code}]` : (e as Error).message });
    }
    const ok = problemsTotal === before;
    phases.push({ name, ok, seconds: (now() - t0) / 1000, share: null, ...(detail ? { detail } : {}) });
    return ok;
  };

  const fileSources = snapshot.sources.filter((s) => s.type === 'files');
  const redisSources = snapshot.sources.filter((s) => s.redis);
  // This drill's own DRKIT_DRILL_* only: never ones inherited from a drill the caller runs in.
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRKIT_DRILL_'))),
    DRKIT_DRILL_SANDBOX: sandbox,
  };
  let newest: DrillReport['newest'] = [];

  try {
    let ok = await phase('select', async (problem) => {
      newest = await newestPerSource(repo, snapshot, started);
      for (const name of options.expectedSources ?? [])
        if (!snapshot.sources.some((s) => s.name === name))
          problem({
            source: name,
            message:
              `snapshot ${snapshot.id} does not hold source "${name}" of the config: a full recovery would ` +
              `miss it`,
          });
      for (const s of snapshot.sources)
        chain.push({
          source: s.name,
          snapshots: (await repo.archiveChain(snapshot, s)).map((l) => l.holder).reverse(),
        });
      return `snapshot ${snapshot.id}, ${Math.round((started - Date.parse(snapshot.time)) / 1000)} s old`;
    });
    if (ok && fileSources.length)
      ok = await phase('restore-files', async () => {
        const target = path.join(sandbox, 'files');
        const plan = await planRestore(repo, { snapshot: snapshot.id, target });
        const result = await executeRestore(repo, plan, {
          ...(options.onWarning ? { onWarning: options.onWarning } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        for (const s of fileSources) env[sourceEnvName(s.name)] = path.join(target, s.name);
        return `${result.written.files} files, ${result.written.bytes} bytes`;
      });
    if (ok && redisSources.length)
      ok = await phase('restore-redis', async () => {
        if (options.redisUrl && redisSources.length > 1)
          throw new RunbookError(
            RunbookErrorCode.SCRATCH_REDIS,
            `Snapshot ${snapshot.id} has ${redisSources.length} Redis sources; one scratch Redis ` +
              `(drill.redis) can hold only one.`,
            {
              hint: 'Leave drill.redis unset: the drill then starts a redis-server per Redis source.',
            },
          );
        let keys = 0;
        for (const s of redisSources) {
          const target = await scratchFor(s);
          scratch.set(s.name, target);
          env[`${sourceEnvName(s.name)}_URL`] = target.url;
          env.DRKIT_DRILL_REDIS_URL ??= target.url;
          const result = await restoreRedis(repo, {
            snapshot: snapshot.id,
            source: s.name,
            target: { url: target.url },
            mode: 'replace',
            confirm: true,
            ...(options.onWarning ? { onWarning: options.onWarning } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          });
          keys += result.restored;
        }
        return `${keys} keys`;
      });
    // Where everything is, for the service and for a person looking at a kept sandbox (`. drill.env`).
    await writeFile(
      path.join(sandbox, 'drill.env'),
      Object.entries(env)
        .filter(([k]) => k.startsWith('DRKIT_DRILL_'))
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    if (ok)
      ok = await phase('verify', async (problem) => {
        // Sources at once: hashing files and waiting on the scratch Redis overlap.
        const checked = await Promise.all([
          ...fileSources.map((s) =>
            checkRestoredFiles(
              repo,
              s,
              path.join(sandbox, 'files', s.name),
              options.jsonlGlobs ?? ['**/*.jsonl'],
              problem,
              options.signal,
            ),
          ),
          ...redisSources.map(async (s) => {
            const conn = await RedisConnection.open({ url: scratch.get(s.name)!.url });
            try {
              return await checkRestoredRedis(repo, s, conn, now, problem, options.signal);
            } finally {
              await conn.close();
            }
          }),
        ]);
        sources.push(...checked);
        return `${sources.length} source(s) read back`;
      });
    if (ok && !options.service) healthyAt = now();
    if (ok && options.service) {
      const spec = options.service;
      const log = path.join(sandbox, 'service.log');
      const running = startService(spec, sandbox, { ...env, ...spec.env }, log);
      service = { command: spec.command, healthy: false, detail: '' };
      try {
        ok = await phase('service-start', async (problem) => {
          const stop = new AbortController();
          options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
          const exited = running.exited.then((how) => {
            stop.abort();
            return how;
          });
          const health = await spec.waitHealthy(spec.readyWithinMs, stop.signal);
          options.signal?.throwIfAborted();
          const early = stop.signal.aborted ? await exited : undefined;
          service!.healthy = health.ok && !early;
          service!.detail = early
            ? `the service ended (${early}) before it was healthy; its output is in ${log}`
            : health.detail;
          if (!service!.healthy)
            problem({
              message:
                `the service did not become healthy within ${Math.round(spec.readyWithinMs / 1000)} ` +
                `s: ${service!.detail}`,
            });
          else healthyAt = now();
          return service!.detail;
        });
        if (ok && spec.smoke)
          ok = await phase('smoke', async (problem) => {
            const why = await runCommand(
              spec.smoke!,
              sandbox,
              { ...env, ...spec.env },
              path.join(sandbox, 'smoke.log'),
              spec.smokeTimeoutMs,
            );
            if (why)
              problem({
                message: `the smoke test failed: ${why}; its output is in ${path.join(sandbox, 'smoke.log')}`,
              });
            return spec.smoke;
          });
      } finally {
        if (options.signal?.aborted) await running.stop();
        else
          await phase('service-stop', async () => {
            await running.stop();
            return undefined;
          });
      }
    }
  } catch (e) {
    // Interrupted: nothing half-made stays behind (the scratch servers stop below).
    if (!options.keepSandbox) await rm(sandbox, { recursive: true, force: true }).catch(() => {});
    if (!options.signal?.aborted) throw e;
    throw new RunbookError(
      RunbookErrorCode.INTERRUPTED,
      `The drill was interrupted: its service and scratch Redis were ` +
        `stopped${options.keepSandbox ? '' : ', its sandbox removed,'} and nothing was recorded.`,
      {
        hint: 'Run the drill again.',
      },
    );
  } finally {
    for (const { server } of scratch.values()) await server?.stop();
  }
  if (options.dryRunbook)
    await phase('runbook-dry-run', async (problem) => {
      runbook = await options.dryRunbook!();
      if (runbook.status !== 'ok')
        problem({
          message:
            `runbook ${runbook.runbook} failed in dry-run: ` +
            `${runbook.steps.find((s) => s.status === 'failed')?.summary ?? ''}`,
        });
      return `${runbook.runbook}: ${runbook.steps.length} steps`;
    });

  const finished = now();
  const rto = healthyAt === undefined ? null : (healthyAt - started) / 1000;
  const rpo = Math.max(0, (started - Date.parse(snapshot.time)) / 1000);
  // Shares of the RTO: the phases that ran before the service was healthy.
  for (const p of phases) if (rto && !AFTER_RTO.has(p.name)) p.share = p.seconds / rto;
  const objectives = {
    rto_seconds: options.objectives.rtoMs / 1000,
    rpo_seconds: options.objectives.rpoMs / 1000,
    rto_met: rto !== null && rto <= options.objectives.rtoMs / 1000,
    rpo_met: rpo <= options.objectives.rpoMs / 1000,
  };
  const passed = phases.every((p) => p.ok) && objectives.rto_met && objectives.rpo_met;
  const keep = options.keepSandbox === true;
  if (!keep) await rm(sandbox, { recursive: true, force: true });
  const report: DrillReport = {
    id,
    scenario: options.scenario ?? 'restore',
    started_at: new Date(started).toISOString(),
    finished_at: new Date(finished).toISOString(),
    passed,
    rto_seconds: rto,
    rpo_seconds: rpo,
    objectives,
    snapshot: { id: snapshot.id, time: snapshot.time, host: snapshot.host, kind: snapshot.kind, tags: snapshot.tags },
    newest,
    chain,
    phases,
    ...(runbook
      ? {
          runbook: {
            name: runbook.runbook,
            status: runbook.status,
            steps: runbook.steps.map((st) => ({ id: st.id, type: st.type, summary: st.summary ?? '' })),
          },
        }
      : {}),
    sources,
    service,
    problems,
    problems_total: problemsTotal,
    sandbox,
    sandbox_kept: keep,
  };
  if (options.report) {
    const result = await options.report(drillEvent(report));
    if (!passed && result.incident) report.incident = result.incident.id;
  }
  return report;

  async function scratchFor(s: SourceMeta): Promise<{ server?: ScratchRedis; url: string }> {
    if (options.redisUrl) return { url: options.redisUrl };
    const dir = path.join(sandbox, `redis-${s.name}`);
    await mkdir(dir);
    const databases = Math.max(...(s.redis?.dbs ?? []).map((d) => d.db + 1), 16);
    const server = await startScratchRedis(options.redisServer ?? 'redis-server', dir, databases);
    return { server, url: server.url };
  }
}

async function makeSandbox(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if ((await readdir(dir)).length) throw new Error('it is not empty');
  } catch (e) {
    throw new RunbookError(
      RunbookErrorCode.SANDBOX,
      `The drill could not make its sandbox ${dir}: ${(e as Error).message}.`,
      {
        hint: 'Point drill.sandbox at a writable folder with room for a full restore.',
        cause: e,
      },
    );
  }
}

/** The newest snapshot of the same host holding each of the drilled snapshot's sources. */
async function newestPerSource(repo: Repository, snapshot: SnapshotMeta, at: number): Promise<DrillReport['newest']> {
  const all = (await repo.listSnapshots()).filter((s) => s.host === snapshot.host);
  return snapshot.sources.map(({ name }) => {
    const newest = all.filter((s) => s.sources.some((x) => x.name === name)).at(-1) ?? snapshot;
    return { source: name, snapshot: newest.id, age_seconds: Math.max(0, (at - Date.parse(newest.time)) / 1000) };
  });
}

/** What the drill tells notify: a failure opens (or updates) the drill incident, a pass resolves it. */
function drillEvent(r: DrillReport): DrkitEvent {
  // An RTO never reached is a failed drill (P3); one reached too late, like an old snapshot, misses an objective (P2).
  const missed = [r.rto_seconds !== null && !r.objectives.rto_met && 'RTO', !r.objectives.rpo_met && 'RPO'].filter(
    Boolean,
  );
  const failed = r.phases.filter((p) => !p.ok).map((p) => p.name);
  const first = r.problems[0]?.message;
  return {
    by: 'drill',
    severity: missed.length ? 'P2' : 'P3',
    title: r.passed
      ? 'Recovery drill passed'
      : `Recovery drill failed${missed.length ? `: ${missed.join(' and ')} objective missed` : ''}`,
    message: r.passed
      ? `Drill ${r.id} of snapshot ${r.snapshot.id} passed: RTO ${r.rto_seconds?.toFixed(1)} s, ` +
        `RPO ${r.rpo_seconds.toFixed(0)} s.`
      : `Drill ${r.id} of snapshot ${r.snapshot.id} failed${failed.length ? ` in ${failed.join(', ')}` : ''}` +
        `${first ? `: ${first}` : ''}. RTO ` +
        `${r.rto_seconds === null ? 'not reached' : `${r.rto_seconds.toFixed(1)} s`} ` +
        `(objective ${r.objectives.rto_seconds} s), RPO ${r.rpo_seconds.toFixed(0)} s ` +
        `(objective ${r.objectives.rpo_seconds} s). See drkit drill show ${r.id}.`,
    components: ['backup'],
    dedupKey: 'drill',
    ...(r.passed ? { resolve: true } : {}),
  };
}
