import { spawn } from 'node:child_process';
import { chmod, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';
import { makeSampleTree, tempDir } from '@drkit/test-support';

// DRKIT_TEST_MAIN runs the tests against another build, e.g. main's, to see a new test fail before its fix.
export const MAIN =
  process.env.DRKIT_TEST_MAIN ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/main.js');
const CACHE_DIR = path.join(os.tmpdir(), `drkit-cli-test-cache-${process.pid}`);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Run as `nobody` through setpriv when we are root, so file permissions apply. */
  unprivileged?: boolean;
  /** Called once the process is running, e.g. to kill it mid-way. */
  onSpawn?: (pid: number) => void;
  /** Called with each line the process writes to stderr, as it comes (e.g. a failpoint saying it hangs). */
  onStderrLine?: (line: string, pid: number) => void;
  /** Called with each line the process writes to stdout, as it comes (e.g. a monitor saying it failed over). */
  onStdoutLine?: (line: string, pid: number) => void;
}

/** Calls `each` with every whole line of a stream, as it comes. */
function byLine(each: (line: string) => void): (d: Buffer) => void {
  let partial = '';
  return (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) each(line);
  };
}

/** Runs the built CLI as a user would, without a TTY. */
export function drkit(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const asNobody = options.unprivileged && process.getuid?.() === 0;
  const cmd = asNobody ? 'setpriv' : process.execPath;
  const argv = asNobody
    ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN, ...args]
    : [MAIN, ...args];
  const child = spawn(cmd, argv, {
    cwd: options.cwd,
    // The change cache goes to a throw-away folder, not the user's ~/.cache.
    env: { ...process.env, DRKIT_REPO: undefined, DRKIT_CONFIG: undefined, DRKIT_CACHE_DIR: CACHE_DIR, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) options.onSpawn?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (options.onStdoutLine)
    child.stdout.on(
      'data',
      byLine((line) => options.onStdoutLine!(line, child.pid!)),
    );
  if (options.onStderrLine)
    child.stderr.on(
      'data',
      byLine((line) => options.onStderrLine!(line, child.pid!)),
    );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface SampleWorkspace {
  dir: string;
  /** Not created: the test runs `drkit init` where it wants. */
  repo: string;
  /** makeSampleTree's tree. */
  tree: string;
}

/** A fresh temp folder with a sample tree before each test, removed after it. */
export function useSampleWorkspace(use: (w: SampleWorkspace) => void): void {
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const w = { dir: t.dir, repo: path.join(t.dir, 'repo'), tree: path.join(t.dir, 'tree') };
    await makeSampleTree(w.tree);
    use(w);
  });
  afterEach(() => cleanup());
}

/**
 * A repository `nobody` can back up into, for tests of real permissions (as root every file is
 * readable, so they run the CLI with `unprivileged`): the workspace and tree open to all.
 */
export async function initForNobody(w: SampleWorkspace): Promise<void> {
  for (const d of [w.dir, w.tree]) await chmod(d, 0o777);
  await drkit(['init', '--repo', w.repo]);
  await chmod(w.repo, 0o777);
  for (const sub of await readdir(w.repo)) await chmod(path.join(w.repo, sub), 0o777);
}
