import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Incident, listIncidents } from '@drkit/notify';
import { type RunRecord, RunHistory } from '@drkit/scheduler';
import { openStateStore } from '@drkit/state';
import { makeSampleTree, tempDir } from '@drkit/test-support';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCHEDULER_MAIN = path.resolve(here, '../dist/main.js');
export const DRKIT_MAIN = path.resolve(here, '../../cli/dist/main.js');

export interface RunningDaemon {
  url: string;
  pid: number;
  /** Every log line so far, parsed. */
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the exit code (or signal) once it has exited and every line it wrote has been read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  child: ChildProcess;
}

/** Starts the built drkit-scheduler on a free port; resolves once it listens. */
export function startDaemon(args: string[], env: Record<string, string | undefined> = {}): Promise<RunningDaemon> {
  const child = spawn(process.execPath, [SCHEDULER_MAIN, '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, DRKIT_REPO: undefined, DRKIT_CONFIG: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, with its drkit children: `process.kill(-pid,
    // 'SIGKILL')` kills them all, as a crash of the host would.
    detached: true,
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  // 'close', not 'exit': 'exit' may come before the last lines on stdout have been read.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const text of parts) {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (typeof line.url === 'string' && /listening on/.test(String(line.msg)))
          resolve({ url: line.url, pid: child.pid!, lines, stderr: () => stderr, exited, child });
      }
    });
    void exited.then(({ code }) => reject(new Error(`drkit-scheduler exited ${code} before listening: ${stderr}`)));
  });
}

/** A folder to back up, a fresh repository (drkit init) and a config naming both, with `extra` YAML appended. */
export async function workspace(
  extra: string,
  options: { state?: string } = {},
): Promise<{ dir: string; config: string; repo: string; state: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir('drkit-scheduler-test-');
  const repo = path.join(dir, 'repo');
  const state = options.state ?? path.join(dir, 'state');
  await makeSampleTree(path.join(dir, 'data'));
  const config = path.join(dir, 'drkit.config.yaml');
  await writeFile(
    config,
    `repository: ${repo}\nstate: ${state}\nsources:\n  - { name: data, type: files, ` +
      `path: ${path.join(dir, 'data')} }\n${extra}\n`,
  );
  const init = await run(DRKIT_MAIN, ['init', '--config', config]);
  if (init.code !== 0) throw new Error(`drkit init failed: ${init.stderr}`);
  return { dir, config, repo, state, cleanup };
}

/** Runs a node script to its end. */
export function run(
  main: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [main, ...args], {
    env: { ...process.env, DRKIT_REPO: undefined, DRKIT_CONFIG: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Polls (every 100 ms, up to `timeoutMs`) until `check` returns something other than undefined. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function runs(state: string, job?: string): Promise<RunRecord[]> {
  const store = await openStateStore(state);
  try {
    return (await new RunHistory(store).list(job)).map((r) => r.record);
  } finally {
    await store.close();
  }
}

export async function incidents(state: string, all = false): Promise<Incident[]> {
  const store = await openStateStore(state);
  try {
    return await listIncidents(store, { all });
  } finally {
    await store.close();
  }
}
