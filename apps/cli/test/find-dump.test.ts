import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeTree } from '@drkit/test-support';
import { drkit, MAIN, useSampleWorkspace } from './cli.js';

// Finding a path across snapshots and getting one file (or folder) back out at 3 a.m.

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
let first: string;
let second: string;

beforeEach(async () => {
  await drkit(['init', '--repo', repo]);
  first = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
  await writeFile(path.join(tree, 'config/app.json'), '{"port": 4000, "debug": true}\n');
  second = json((await drkit(['backup', tree, '--repo', repo, '--json'])).stdout).id;
});

describe('drkit find', () => {
  it('lists every snapshot holding a name, newest first, with size and mtime; a pattern with / is a path', async () => {
    const hits = json((await drkit(['find', 'app.json', '--repo', repo, '--json'])).stdout);
    expect(hits.map((h: { snapshot: string; path: string; size: number }) => [h.snapshot, h.path, h.size])).toEqual([
      [second, 'config/app.json', 30],
      [first, 'config/app.json', 15],
    ]);
    expect(hits[0]).toMatchObject({
      source: 'tree',
      type: 'file',
      mtime: expect.any(Number),
      time: expect.any(String),
    });
    const human = await drkit(['find', 'config/*.env', '*.sh', '--repo', repo, '--newest', '1']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`snapshot ${second} of `);
    expect(human.stdout).not.toContain(first);
    expect(human.stdout).toMatch(/10 B {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}tree\/config\/secret\.env\n/);
    expect(human.stdout).toMatch(/tree\/bin\/run\.sh\n/);
  });

  it('--source searches only that source', async () => {
    const other = path.join(dir, 'other');
    await mkdir(path.join(other, 'config'), { recursive: true });
    await writeFile(path.join(other, 'config/app.json'), '{}\n');
    const both = json((await drkit(['backup', tree, other, '--repo', repo, '--json'])).stdout).id;
    const everywhere = json((await drkit(['find', 'app.json', '--newest', '1', '--repo', repo, '--json'])).stdout);
    expect(everywhere.map((h: { snapshot: string; source: string }) => [h.snapshot, h.source])).toEqual([
      [both, 'tree'],
      [both, 'other'],
    ]);
    const inOther = json((await drkit(['find', 'app.json', '--source', 'other', '--repo', repo, '--json'])).stdout);
    expect(inOther.map((h: { snapshot: string; source: string }) => [h.snapshot, h.source])).toEqual([[both, 'other']]);
  });

  it('a pattern that matches nothing is a coded error with a hint', async () => {
    const r = await drkit(['find', 'nothing-like-this*', '--host', 'no-such-host', '--repo', repo, '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({
      code: 'CLI_NO_MATCH',
      message: expect.stringContaining('No path in 0 snapshot(s) of host no-such-host matches "nothing-like-this*"'),
      hint: expect.stringContaining('drkit ls latest'),
    });
  });
});

describe('drkit snapshots', () => {
  it("shows each snapshot's age next to its time, findings and status", async () => {
    const table = (await drkit(['snapshots', '--repo', repo])).stdout.split('\n');
    expect(table[0]).toMatch(/^ID +TIME +AGE +HOST +KIND +STATUS +SOURCES +SIZE +FINDINGS +TAGS$/);
    expect(table[1]).toMatch(new RegExp(`^${first} +\\S+ \\S+ +\\d+[smhd] +`));
    const list = json((await drkit(['snapshots', '--repo', repo, '--json'])).stdout);
    expect(list[0].ageSeconds).toBeGreaterThanOrEqual(0);
    expect(list[0].ageSeconds).toBeLessThan(600);
  });
});

const run = promisify(execFile);

/** `drkit dump … > FILE`, as a shell would run it: stdout is a file, bytes exact. */
async function dumpTo(file: string, args: string[]): Promise<void> {
  await run(
    'sh',
    ['-c', 'out="$1"; shift; exec "$@" > "$out"', 'sh', file, process.execPath, MAIN, 'dump', ...args, '--repo', repo],
    {
      env: { ...process.env, DRKIT_REPO: undefined, DRKIT_CONFIG: undefined },
    },
  );
}

const contents = async (root: string) =>
  (await describeTree(root)).map(({ path, type, size, sha256, linkTarget }) => ({
    path,
    type,
    size,
    sha256,
    linkTarget,
  }));

describe('drkit dump', () => {
  it(
    "writes one file's bytes: the version of the snapshot named, also one an incremental keeps in an earlier " +
      'archive',
    async () => {
      expect((await drkit(['dump', first, 'tree/config/app.json', '--repo', repo])).stdout).toBe('{"port": 3000}\n');
      expect((await drkit(['dump', 'latest', 'tree/config/app.json', '--repo', repo])).stdout).toBe(
        '{"port": 4000, "debug": true}\n',
      );
      const unchanged = await drkit([
        'dump',
        second.slice(0, 20),
        'data/feedback.jsonl',
        '--source',
        'tree',
        '--repo',
        repo,
      ]);
      expect(unchanged.stdout).toBe('{"id":1}\n{"id":2}\n');
    },
  );

  it('writes a folder, or a whole source, as a tar that `tar -x` unpacks to what was backed up', async () => {
    await dumpTo(path.join(dir, 'all.tar'), ['latest', 'tree']);
    await mkdir(path.join(dir, 'all'));
    await run('tar', ['-xf', path.join(dir, 'all.tar'), '-C', path.join(dir, 'all')]);
    expect(await contents(path.join(dir, 'all'))).toEqual(await contents(tree));
    await dumpTo(path.join(dir, 'config.tar'), ['latest', 'tree/config']);
    const { stdout } = await run('tar', ['-tf', path.join(dir, 'config.tar')]);
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['config/', 'config/app.json', 'config/secret.env']);
  });

  it('a path or source the snapshot does not hold is a coded error with a hint', async () => {
    const missing = await drkit(['dump', 'latest', 'tree/config/nope.json', '--repo', repo, '--json']);
    expect(missing.code).toBe(1);
    expect(json(missing.stdout).error).toMatchObject({
      code: 'RESTORE_PATH_NOT_FOUND',
      hint: expect.stringContaining('drkit find "nope.json"'),
    });
    const source = json((await drkit(['dump', 'latest', 'nosuch/app.json', '--repo', repo, '--json'])).stdout).error;
    expect(source).toMatchObject({ code: 'REPO_SOURCE_NOT_FOUND', hint: expect.stringContaining('tree') });
  });
});
