import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '@drkit/test-support';
import {
  DRKIT_MAIN,
  eventually,
  incidents,
  type RunningDaemon,
  run,
  runs,
  SCHEDULER_MAIN,
  startDaemon,
  workspace,
} from './daemon.js';

const run_ = (args: string[]) => run(DRKIT_MAIN, args);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(args: string[], env: Record<string, string> = {}): Promise<RunningDaemon> {
  const daemon = await startDaemon(args, env);
  cleanups.push(async () => {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) process.kill(-daemon.pid, 'SIGKILL');
    await daemon.exited;
  });
  return daemon;
}

describe('drkit-scheduler', () => {
  it(
    'runs a job every second through the drkit CLI, serves ' + 'health and metrics, and stops on SIGTERM with exit 0',
    async () => {
      const ws = await workspace(`schedule:
  timezone: UTC
  jobs:
    - { name: every-second, cron: "* * * * * *", run: backup }
objectives: { rpo: 1h }`);
      cleanups.push(ws.cleanup);
      const daemon = await started(['--config', ws.config]);
      const done = await eventually('two finished backups', async () => {
        const finished = (await runs(ws.state, 'every-second')).filter((r) => r.result === 'success');
        return finished.length >= 2 ? finished : undefined;
      });
      expect(done[0]!.snapshotId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+$/);
      expect(done[0]!.sources).toEqual([{ name: 'data', bytes: expect.any(Number) }]);

      expect((await fetch(`${daemon.url}/healthz`)).status).toBe(200);
      const ready = await eventually('readyz 200', async () => {
        const r = await fetch(`${daemon.url}/readyz`);
        return r.status === 200 ? r : undefined;
      });
      expect(await ready.json()).toEqual({ ok: true });

      const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
      expect(metrics).toMatch(/^drkit_rpo_seconds\{source="data"\} \d/m);
      expect(metrics).toMatch(/^drkit_job_runs_total\{job="every-second",result="success"\} \d+/m);
      expect(metrics).toMatch(/^drkit_job_next_run_timestamp_seconds\{job="every-second"\} \d+/m);
      expect(metrics).toMatch(/^drkit_backup_duration_seconds_count\{job="every-second"\} \d+/m);
      expect(metrics).toMatch(/^drkit_backup_last_success_timestamp_seconds\{source="data"\} \d+/m);
      expect(metrics).toMatch(/^drkit_backup_bytes\{source="data"\} \d+/m);
      expect(metrics).toMatch(/^drkit_incidents_open\{severity="P1"\} 0/m);
      expect(metrics).toMatch(/^drkit_outbox_pending 0/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      expect(promtool.error).toBeUndefined();
      expect(promtool.stderr + promtool.stdout).toBe('');
      expect(promtool.status).toBe(0);

      // Every line a job logs carries its run id, the drkit child's stderr included.
      const jobLines = daemon.lines.filter((l) => l.job === 'every-second');
      expect(jobLines.length).toBeGreaterThan(2);
      expect(jobLines.every((l) => typeof l.runId === 'string')).toBe(true);

      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toEqual({ code: 0, signal: null });
      expect(daemon.lines.some((l) => l.msg === 'stopped')).toBe(true);
      // Nothing half-written: every snapshot verifies, and no run is left marked running.
      const verify = await run(DRKIT_MAIN, ['verify', 'all', '--config', ws.config]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect((await runs(ws.state)).filter((r) => r.result === 'running')).toEqual([]);
    },
  );

  it(
    'opens a P2 incident when the RPO passes its objective, raises it to P1 at twice, and resolves it when a ' +
      'backup lands',
    async () => {
      const ws = await workspace(`schedule:
  timezone: UTC
  jobs:
    - { name: yearly, cron: "0 0 1 1 *", run: backup, catch_up: false }
objectives: { rpo: 2s }
scheduler: { rpo_refresh: 1s }`);
      cleanups.push(ws.cleanup);
      // No snapshot yet: the RPO counts from when the daemon first read the repository.
      const t0 = Date.now();
      await started(['--config', ws.config]);
      const p1 = await eventually('the RPO incident, raised to P1', async () =>
        (await incidents(ws.state)).find((i) => i.dedupKey === 'rpo:data' && i.severity === 'P1'),
      );
      expect(p1.title).toBe('RPO objective missed for data');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4_000);
      expect((await run(DRKIT_MAIN, ['backup', '--config', ws.config])).code).toBe(0);
      const resolved = await eventually('the incident resolved', async () =>
        (await incidents(ws.state, true)).find((i) => i.id === p1.id && i.status === 'resolved'),
      );
      expect(resolved.timeline.map((e) => [e.kind, e.severity ?? null])).toEqual([
        ['opened', 'P2'],
        ['updated', 'P1'],
        ['resolved', null],
      ]);
      expect(resolved.timeline.at(-1)!.message).toMatch(/^A fresh backup of data landed/);
    },
  );

  it(
    'SIGTERM while a job runs: past shutdown_grace the job is stopped cleanly (no snapshot), recorded as ' +
      'interrupted, exit 0',
    async () => {
      const ws = await workspace(`schedule:
  timezone: UTC
  jobs:
    - { name: every-second, cron: "* * * * * *", run: backup }
scheduler: { shutdown_grace: 1s }`);
      cleanups.push(ws.cleanup);
      // The backup stops before its commit point and stays there until a signal comes.
      const daemon = await startDaemon(['--config', ws.config], { DRKIT_FAILPOINTS: 'commit.before-metadata=hang' });
      const hanging = await eventually('the backup to hang before its commit', async () =>
        daemon.lines.find((l) => /failpoint commit.before-metadata: hanging/.test(String(l.msg))),
      );
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toEqual({ code: 0, signal: null });
      const [run] = await runs(ws.state);
      expect(run).toMatchObject({
        id: hanging.runId,
        result: 'interrupted',
        exitCode: 143,
        errorCode: 'BACKUP_INTERRUPTED',
      });
      expect(daemon.lines.some((l) => /did not finish within the grace period/.test(String(l.msg)))).toBe(true);
      // Only one run, and nothing recorded once the daemon had the signal (a slot that came before, while the
      // backup was on its way to the failpoint or the signal on its way to the daemon, is an overlap, skipped).
      const all = await runs(ws.state);
      expect(all.filter((r) => r.result !== 'skipped')).toHaveLength(1);
      const heard = daemon.lines.find((l) => l.msg === 'SIGTERM: shutting down');
      expect(heard).toBeDefined();
      const heardAt = new Date(heard!.time as number).toISOString();
      expect(all.filter((r) => (r.startedAt ?? r.slot) > heardAt)).toEqual([]);
      const snapshots = await run_(['snapshots', '--json', '--config', ws.config]);
      expect(JSON.parse(snapshots.stdout)).toEqual([]);
      expect((await run_(['verify', 'all', '--config', ws.config])).code).toBe(0);
    },
  );

  it(
    'drkit schedule run NAME while the daemon runs that ' + 'job: refused (the job lease), nothing started twice',
    async () => {
      const ws = await workspace(`schedule:
  timezone: UTC
  jobs:
    - { name: every-second, cron: "* * * * * *", run: backup }
`);
      cleanups.push(ws.cleanup);
      // The daemon's backups hang before their commit point until a signal: it holds the job.
      const hanging = await started(['--config', ws.config], { DRKIT_FAILPOINTS: 'commit.before-metadata=hang' });
      await eventually('a backup hanging in the daemon', async () =>
        hanging.lines.find((l) => /failpoint commit.before-metadata: hanging/.test(String(l.msg))),
      );
      const byHand = await run_(['schedule', 'run', 'every-second', '--json', '--config', ws.config]);
      expect(byHand.code).toBe(1);
      expect(JSON.parse(byHand.stdout).error).toMatchObject({
        code: 'SCHEDULER_JOB_BUSY',
        message: expect.stringMatching(
          /^Job every-second is running already \(another replica holds schedule-every-second\)\.$/,
        ),
      });
      expect((await runs(ws.state)).filter((r) => r.kind === 'manual')).toEqual([]);
    },
  );

  it(
    'a bad config stops it before it listens: exit 1, the code, the file and the key path, in the log and on ' +
      'stderr',
    async () => {
      const { dir, cleanup } = await tempDir('drkit-scheduler-bad-config-');
      cleanups.push(cleanup);
      const config = path.join(dir, 'drkit.config.yaml');
      const base = `repository: ${dir}/repo\nsources: [{ name: data, type: files, path: ${dir} }]\n`;
      const cases = [
        {
          yaml: `${base}schedule:\n  jobs:\n    - { name: x, cron: "61 * * * *", run: backup }\n`,
          code: 'CONFIG_INVALID',
          where: /drkit\.config\.yaml: schedule\.jobs\[0\]\.cron: "61 \* \* \* \*" is not a cron expression/,
        },
        {
          yaml: `${base}state: \${DRKIT_TEST_UNSET_STATE}\n`,
          code: 'CONFIG_ENV_MISSING',
          where: /drkit\.config\.yaml: state: environment variable DRKIT_TEST_UNSET_STATE is not set/,
        },
      ];
      for (const c of cases) {
        await writeFile(config, c.yaml);
        const out = await run(SCHEDULER_MAIN, ['--config', config, '--listen', '127.0.0.1:0'], {
          DRKIT_TEST_UNSET_STATE: undefined,
        });
        expect(out.code, out.stdout + out.stderr).toBe(1);
        expect(out.stderr).toMatch(c.where);
        expect(out.stderr).toContain(`[${c.code}]`);
        const logged = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { code: string; msg: string };
        expect(logged.code).toBe(c.code);
        expect(logged.msg).toMatch(c.where);
      }
    },
  );
});
