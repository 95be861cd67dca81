import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FAILPOINTS, failpoint } from '@drkit/errors';

const ERRORS = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Runs `body` in a fresh node with DRKIT_FAILPOINTS set, as a drkit process would see it. */
function run(
  spec: string,
  body: string,
  onLine?: (line: string, pid: number) => void,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import { failpoint } from ${JSON.stringify(ERRORS)};\n${body}`],
    {
      env: { ...process.env, DRKIT_FAILPOINTS: spec },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const line of String(d).split('\n')) if (line) onLine?.(line, child.pid!);
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe('failpoints', () => {
  it('are inert unless DRKIT_FAILPOINTS is set', () => {
    for (const name of Object.keys(FAILPOINTS) as Array<keyof typeof FAILPOINTS>)
      expect(failpoint(name)).toBeUndefined();
  });

  it('kill: the process SIGKILLs itself at the nth hit, and nothing after the point runs', async () => {
    const r = await run(
      'prune.after-delete-meta:2=kill',
      `
      for (let i = 1; i <= 3; i++) { await failpoint('prune.after-delete-meta'); console.log('deleted', i); }`,
    );
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('deleted 1\n');
    expect(r.stderr).toBe('drkit: failpoint prune.after-delete-meta: kill\n');
  });

  it('throw: the step fails with FAILPOINT; other points stay inert', async () => {
    const r = await run(
      'tag.before-write=throw',
      `
      await failpoint('commit.before-metadata');
      try { await failpoint('tag.before-write'); } catch (e) { console.log(e.code, e.message); }`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('FAILPOINT Failpoint tag.before-write fired (DRKIT_FAILPOINTS).\n');
  });

  it('hang: waits at the point until SIGTERM or SIGINT arrives, then goes on', async () => {
    const r = await run(
      'restore.after-extract=hang',
      `
      process.on('SIGTERM', () => console.log('signal seen by the program too'));
      await failpoint('restore.after-extract');
      console.log('went on');`,
      (line, pid) => line.includes('hanging') && process.kill(pid, 'SIGTERM'),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('signal seen by the program too\nwent on\n');
  });

  it('refuses a spec it does not understand, naming the known points', async () => {
    const r = await run(
      'prune.after-delete-metadata=kill',
      `
      try { failpoint('tag.before-write'); } catch (e) { console.log(e.code, ` +
        `e.hint.includes('prune.after-delete-meta')); }`,
    );
    expect(r.stdout).toBe('FAILPOINT_SPEC true\n');
  });
});
