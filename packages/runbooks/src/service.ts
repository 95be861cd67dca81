import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/** How a drill starts the service from its sandbox and knows it is up. */
export interface ServiceSpec {
  command: string;
  env: Record<string, string>;
  readyWithinMs: number;
  /**
   * Waits until the service's health probes pass (the CLI wires failover's waitForProbes);
   * resolves with why not when `withinMs` runs out or `signal` aborts.
   */
  waitHealthy: (withinMs: number, signal: AbortSignal) => Promise<{ ok: boolean; detail: string }>;
  smoke?: string;
  smokeTimeoutMs: number;
}

export interface RunningService {
  /** Resolves with how it ended, if it ends by itself. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

/** Runs `sh -c command` in its own process group, its output appended to `logFile` (else to stderr). */
export function startProcess(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  logFile: string | undefined,
): { child: ChildProcess; exited: Promise<string> } {
  const log = logFile === undefined ? process.stderr : createWriteStream(logFile, { flags: 'a' });
  const child = spawn('/bin/sh', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(e.message));
    child.once('close', (code, signal) => {
      if (log !== process.stderr) log.end();
      resolve(signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  });
  return { child, exited };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {}
}

/** Starts the service; stop() sends SIGTERM to its process group, and SIGKILL after 10 s. */
export function startService(spec: ServiceSpec, cwd: string, env: NodeJS.ProcessEnv, logFile: string): RunningService {
  const { child, exited } = startProcess(spec.command, cwd, env, logFile);
  let done = false;
  void exited.then(() => (done = true));
  return {
    exited,
    async stop() {
      if (done) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      // Children the shell started may outlive it.
      killGroup(child, 'SIGKILL');
    },
  };
}

/** Runs a command to its end, or kills its process group at the timeout; undefined when it exits 0, else why not. */
export async function runCommand(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  logFile: string | undefined,
  timeoutMs: number,
): Promise<string | undefined> {
  const { child, exited } = startProcess(command, cwd, env, logFile);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, timeoutMs);
  const how = await exited;
  clearTimeout(timer);
  if (timedOut) return `it did not finish within ${Math.round(timeoutMs / 1000)} s`;
  return how === 'exit code 0' ? undefined : `it ended with ${how}`;
}
