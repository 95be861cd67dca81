import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { drkit, MAIN, useSampleWorkspace } from './cli.js';

// What restic users read after a backup, and while one runs on a terminal.

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);

/** The command on a pseudo-terminal (`script`), as a person would see it: what it wrote, progress lines included. */
const onTerminal = (args: string[]) =>
  spawnSync('script', ['-qec', [process.execPath, MAIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, DRKIT_REPO: undefined, DRKIT_CONFIG: undefined, DRKIT_CACHE_DIR: path.join(dir, 'cache') },
  }).stdout;

describe('backup summary and progress', () => {
  it('counts new, changed and unmodified files and the bytes added to the repository', async () => {
    await drkit(['init', '--repo', repo]);
    const full = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout);
    expect(full.files).toEqual({ new: 9, changed: 0, unmodified: 0 });
    expect(full.added).toBe(full.sources[0].stored);
    await writeFile(path.join(tree, 'config/app.json'), '{"port": 4000}\n');
    await writeFile(path.join(tree, 'data/new.jsonl'), '{"id":9}\n');
    const human = await drkit(['backup', tree, '--repo', repo]);
    expect(human.stdout).toMatch(
      /^ {2}files: 1 new, 1 changed, 8 unmodified; added to the repository: [\d.]+ (B|KiB)$/m,
    );
    const again = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout);
    expect(again.files).toEqual({ new: 0, changed: 0, unmodified: 10 });
    expect(again.added).toBe(again.sources[0].stored);
  });

  it('on a terminal, an incremental backup, a verify and a restore show a percentage of the known total', async () => {
    await drkit(['init', '--repo', repo]);
    await drkit(['backup', tree, '--repo', repo]);
    await writeFile(path.join(tree, 'config/app.json'), '{"port": 4000}\n');
    expect(onTerminal(['backup', tree, '--repo', repo])).toMatch(
      /backing up tree: \d+ files, [\d.]+ \w+ stored; [\d.]+ \w+ of [\d.]+ \w+ \(\d+%\)/,
    );
    expect(onTerminal(['verify', 'latest', '--repo', repo])).toMatch(
      /verifying tree: \d+ entries, [\d.]+ \w+ of [\d.]+ \w+ \(\d+%\)/,
    );
    expect(onTerminal(['restore', 'latest', '--target', path.join(dir, 'out'), '--repo', repo])).toMatch(
      /restoring \d+ files, [\d.]+ \w+ of [\d.]+ \w+ \(\d+%\)/,
    );
  });
});
