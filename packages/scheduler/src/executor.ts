import { spawn } from 'node:child_process';
import { SchedulerErrorCode } from './errors.js';
import type { Executor, JobOutcome } from './scheduler.js';

export interface CliExecutorOptions {
  /** How to start drkit, e.g. [process.execPath, '/opt/drkit/apps/cli/dist/main.js']. */
  command: readonly string[];
  /** Arguments every job gets (e.g. --config FILE). */
  globalArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

interface CliJson {
  id?: string;
  status?: string;
  sources?: { name?: string; stored?: number }[];
  error?: { code?: string; message?: string; hint?: string };
}

/** drkit's exit codes (the README's table) as a run result. */
function resultOf(code: number | null, signal: NodeJS.Signals | null): JobOutcome['result'] {
  if (code === 0) return 'success';
  if (code === 3) return 'partial';
  if (code === 130 || code === 143 || signal) return 'interrupted';
  return 'failed';
}

/**
 * Runs each job as `drkit <run> <args> --json` in a child process: its exit code and JSON give the
 * result, snapshot id and error code; an abort sends it SIGTERM, which drkit answers by rolling
 * its work back (no half snapshot) and exiting 143; a crash of the job never reaches the daemon.
 * Its stderr lines go to the run's log.
 */
export function cliExecutor(options: CliExecutorOptions): Executor {
  return (job, { signal, log }) =>
    new Promise<JobOutcome>((resolve) => {
      const [bin, ...pre] = options.command;
      const child = spawn(bin!, [...pre, ...(options.globalArgs ?? []), job.run, ...job.args, '--json'], {
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let partial = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop()!;
        for (const line of lines) if (line.trim()) log.info({ stream: 'stderr' }, line);
      });
      const stop = () => child.kill('SIGTERM');
      signal.addEventListener('abort', stop, { once: true });
      child.on('error', (error) => {
        signal.removeEventListener('abort', stop);
        resolve({
          result: 'failed',
          errorCode: SchedulerErrorCode.JOB_CRASHED,
          message: `could not start ${bin}: ${error.message}`,
          hint: 'Check the drkit command the daemon runs (--drkit).',
        });
      });
      child.on('close', (code, sig) => {
        signal.removeEventListener('abort', stop);
        if (partial.trim()) log.info({ stream: 'stderr' }, partial);
        let json: CliJson | undefined;
        try {
          json = JSON.parse(stdout) as CliJson;
        } catch {
          json = undefined;
        }
        const result = resultOf(code, sig);
        const outcome: JobOutcome = { result, ...(code !== null ? { exitCode: code } : {}) };
        if (job.run === 'backup' && typeof json?.id === 'string') {
          outcome.snapshotId = json.id;
          outcome.sources = (json.sources ?? []).flatMap((s) =>
            typeof s.name === 'string' ? [{ name: s.name, bytes: s.stored ?? 0 }] : [],
          );
        }
        if (json?.error)
          Object.assign(outcome, { errorCode: json.error.code, message: json.error.message, hint: json.error.hint });
        else if (result === 'failed' && !json)
          Object.assign(outcome, {
            errorCode: SchedulerErrorCode.JOB_CRASHED,
            message: `drkit ${job.run} ended with ${sig ? `signal ${sig}` : `exit code ${code}`} and no JSON result.`,
            hint: "See the run's log lines (its stderr) for what happened.",
          });
        resolve(outcome);
      });
    });
}

/** Lists the repository's snapshots through `drkit snapshots --json` (the RPO watch's view). */
export function cliSnapshotLister(options: CliExecutorOptions): () => Promise<SnapshotSummary[]> {
  return () =>
    new Promise((resolve, reject) => {
      const [bin, ...pre] = options.command;
      const child = spawn(bin!, [...pre, ...(options.globalArgs ?? []), 'snapshots', '--json'], {
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        try {
          const parsed = JSON.parse(stdout) as unknown;
          if (code === 0 && Array.isArray(parsed)) return resolve(parsed as SnapshotSummary[]);
          const error = (parsed as CliJson | undefined)?.error;
          reject(
            new Error(
              error
                ? `[${error.code}] ${error.message}`
                : `drkit snapshots exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`,
            ),
          );
        } catch {
          reject(new Error(`drkit snapshots exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
        }
      });
    });
}

/** What the RPO watch reads of a snapshot (`drkit snapshots --json`). */
export interface SnapshotSummary {
  id: string;
  time: string;
  status: string;
  tags: string[];
  sources: string[];
  failedSources?: { name: string }[] | string[];
  stored?: number;
}
