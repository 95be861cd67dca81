import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The test functions the contract suites need; pass vitest's (or any compatible runner's). */
export interface StateContractRunner {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeout?: number): void;
  beforeEach(fn: () => Promise<void>): void;
  afterEach(fn: () => Promise<void>): void;
}

/** The error code `run` fails with, or undefined if it succeeds. */
export async function codeOf(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** Runs a built script of this package in a child Node; `onLine` sees each line it prints and may kill it. */
export function runChild(
  script: string,
  args: string[],
  onLine: (line: string, kill: () => void) => void = () => {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  createInterface({ input: proc.stdout }).on('line', (line) => onLine(line, () => proc.kill('SIGKILL')));
  return new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}
