import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { drkit, type SampleWorkspace, useSampleWorkspace } from './cli.js';

let w: SampleWorkspace;
useSampleWorkspace((ws) => (w = ws));
let config: string;

beforeEach(async () => {
  config = path.join(w.dir, 'drkit.config.yaml');
  await writeFile(
    config,
    `repository: ${w.repo}
state: ${path.join(w.dir, 'state')}
sources: [{ name: tree, type: files, path: ${w.tree} }]
schedule:
  timezone: Europe/Berlin
  jobs:
    - { name: nightly, cron: "0 3 * * *", run: backup }
    - { name: weekly-full, cron: "0 2 * * 0", run: backup, args: ["--full"] }
    - { name: cleanup, after: [nightly], run: forget, args: ["--keep-last", "3"] }
`,
  );
  expect((await drkit(['init', '--config', config])).code).toBe(0);
});

describe('drkit schedule', () => {
  it('list: the jobs, their cron and time zone, and the next run', async () => {
    const r = await drkit(['schedule', 'list', '--config', config, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const jobs = JSON.parse(r.stdout) as {
      name: string;
      next: string | null;
      timezone: string;
      cron: string | null;
      after: string[];
    }[];
    expect(jobs.map((j) => [j.name, j.cron, j.after, j.timezone])).toEqual([
      ['nightly', '0 3 * * *', [], 'Europe/Berlin'],
      ['weekly-full', '0 2 * * 0', [], 'Europe/Berlin'],
      ['cleanup', null, ['nightly'], 'Europe/Berlin'],
    ]);
    const next = Date.parse(jobs[0]!.next!);
    expect(next).toBeGreaterThan(Date.now());
    expect(next - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', timeStyle: 'short' }).format(next)).toBe(
      '03:00',
    );
    const text = await drkit(['schedule', 'list', '--config', config]);
    expect(text.stdout).toMatch(/^cleanup +drkit forget --keep-last 3 +after nightly$/m);
  });

  it('list without a schedule: shows the DR plan', async () => {
    await writeFile(config, `repository: ${w.repo}\nsources: [{ name: tree, type: files, path: ${w.tree} }]\n`);
    const r = await drkit(['schedule', 'list', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('The DR plan (no schedule: in the config):');
    for (const job of ['hourly', 'daily', 'weekly-full', 'retention', 'verify-monthly'])
      expect(r.stdout).toMatch(new RegExp(`^${job} `, 'm'));
  });

  it('run NAME runs the job now through drkit, records it, and its after-jobs follow; history shows both', async () => {
    const r = await drkit(['schedule', 'run', 'nightly', '--config', config, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ job: 'nightly', kind: 'manual', result: 'success', exitCode: 0 });
    const snapshots = JSON.parse((await drkit(['snapshots', '--config', config, '--json'])).stdout) as { id: string }[];
    expect(snapshots.map((s) => s.id)).toEqual([run.snapshotId]);
    const history = await drkit(['schedule', 'history', '--config', config, '--json']);
    expect(
      JSON.parse(history.stdout).map((h: { job: string; kind: string; result: string }) => [h.job, h.kind, h.result]),
    ).toEqual([
      ['nightly', 'manual', 'success'],
      ['cleanup', 'after', 'success'],
    ]);
    const only = await drkit(['schedule', 'history', '--job', 'cleanup', '--config', config]);
    expect(only.stdout).toMatch(/^\S+ +cleanup +after +success +\d+\.\d+s$/m);
    expect(only.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('a failed job exits with its drkit exit code, and history keeps its error code', async () => {
    await writeFile(config, (await readFile(config, 'utf8')).replace(w.repo, path.join(w.dir, 'no-repo')));
    const r = await drkit(['schedule', 'run', 'nightly', '--config', config, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'failed', exitCode: 1, errorCode: 'REPO_NOT_FOUND' });
    const history = await drkit(['schedule', 'history', '--config', config]);
    expect(history.stdout).toMatch(/nightly +manual +failed .*\[REPO_NOT_FOUND\]/);
  });

  it('an unknown job: a clear error naming the jobs, for run and history', async () => {
    for (const args of [
      ['run', 'nighty'],
      ['history', '--job', 'nighty'],
    ]) {
      const r = await drkit(['schedule', ...args, '--config', config, '--json']);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).error).toMatchObject({
        code: 'SCHEDULER_UNKNOWN_JOB',
        message: 'The plan has no job named "nighty".',
        hint: 'Jobs: nightly, weekly-full, cleanup (drkit schedule list shows them).',
      });
    }
  });

  it('a schedule with mistakes: every one named with its key path', async () => {
    await writeFile(
      config,
      `repository: ${w.repo}
sources: [{ name: tree, type: files, path: ${w.tree} }]
schedule:
  timezone: Europe/Berlinn
  jobs:
    - { name: a, cron: "0 3 * *", run: backup }
    - { name: a, cron: "61 * * * *", run: restore }
    - { name: b, after: [c], run: verify }
`,
    );
    const r = await drkit(['schedule', 'list', '--config', config]);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    const at = (p: string) => lines.find((l) => l.includes(`drkit.config.yaml: ${p}: `));
    expect(at('schedule.timezone')).toMatch(/expected an IANA time zone/);
    expect(at('schedule.jobs[0].cron')).toMatch(/"0 3 \* \*" has 4 fields; a cron expression has 5 .* or 6/);
    expect(at('schedule.jobs[1].cron')).toMatch(/"61 \* \* \* \*" is not a cron expression croner accepts/);
    expect(at('schedule.jobs[1].run')).toMatch(/backup, verify, forget, copy/);
    expect(at('schedule.jobs[1].name')).toMatch(/duplicate job name "a"/);
    expect(at('schedule.jobs[2].after[0]')).toMatch(/no job is named "c"/);
  });
});
