import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useSampleWorkspace } from './cli.js';

// The README's commands as a user types them: `drkit` on PATH (scripts/link-bins.mjs, run by
// setup) and `pnpm drkit`, both from a folder of the user's, relative paths meaning that folder.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const run = promisify(execFile);

let dir: string;
useSampleWorkspace((w) => ({ dir } = w));

async function linkBins(binDir: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'scripts/link-bins.mjs'), '--bin-dir', binDir]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => path.basename(line.split(' → ')[0]!));
}

/** A folder away from the checkout holding a service's data and a config with relative paths. */
async function userFolder(): Promise<{ work: string; env: NodeJS.ProcessEnv }> {
  const work = path.join(dir, 'work');
  await mkdir(path.join(work, 'data'), { recursive: true });
  await writeFile(path.join(work, 'data/app.json'), '{"ok":true}\n');
  await writeFile(
    path.join(work, 'drkit.config.yaml'),
    'repository: ./repo\nsources:\n  - { name: data, type: files, path: ./data }\n',
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.join(dir, 'bin')}${path.delimiter}${process.env.PATH}`,
    DRKIT_CACHE_DIR: path.join(dir, 'cache'),
  };
  delete env.DRKIT_REPO;
  delete env.DRKIT_CONFIG;
  delete env.INIT_CWD; // as in a user's shell, not a pnpm script's
  return { work, env };
}

describe('drkit on PATH', () => {
  it('link-bins puts every app command on PATH; each runs from any folder', async () => {
    const names = await linkBins(path.join(dir, 'bin'));
    expect(names).toContain('drkit');
    const { work, env } = await userFolder();
    for (const name of names) {
      const help = await run(name, ['--help'], { cwd: work, env });
      expect(help.stdout).toMatch(/Usage:/);
    }
  });

  it("the README's first commands, typed in the user's folder: the config and ./paths are found there", async () => {
    await linkBins(path.join(dir, 'bin'));
    const { work, env } = await userFolder();
    await run('drkit', ['init'], { cwd: work, env });
    await run('drkit', ['backup'], { cwd: work, env });
    const { stdout } = await run('drkit', ['snapshots', '--json'], { cwd: work, env });
    expect(JSON.parse(stdout).map((s: { sources: string[] }) => s.sources)).toEqual([['data']]);
    await run('drkit', ['restore', 'latest', '--source', 'data', '--target', './restored'], { cwd: work, env });
    expect(await readFile(path.join(work, 'restored/app.json'), 'utf8')).toBe('{"ok":true}\n');
    expect(existsSync(path.join(ROOT, 'repo'))).toBe(false);
  });

  it('`pnpm drkit` run from another folder resolves relative paths and the config against that folder', async () => {
    const { work, env } = await userFolder();
    const pnpm = (args: string[]) => run('pnpm', ['--silent', '-C', ROOT, 'drkit', ...args], { cwd: work, env });
    await pnpm(['init', '--repo', './adhoc-repo']);
    await pnpm(['backup', './data', '--repo', './adhoc-repo']);
    expect(existsSync(path.join(work, 'adhoc-repo/config.json'))).toBe(true);
    await pnpm(['init']); // repository: ./repo from ./drkit.config.yaml
    await pnpm(['backup']);
    const { stdout } = await pnpm(['snapshots', '--json']);
    expect(JSON.parse(stdout)).toHaveLength(1);
    expect(existsSync(path.join(ROOT, 'adhoc-repo'))).toBe(false);
  });
});
