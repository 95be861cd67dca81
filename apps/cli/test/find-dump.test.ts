import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { drkit, useSampleWorkspace } from './cli.js';

// Finding a path across snapshots and getting one file (or folder) back out at 3 a.m.

let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ repo, tree } = w));

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
    expect(hits[0]).toMatchObject({ source: 'tree', type: 'file', mtime: expect.any(Number), time: expect.any(String) });
    const human = await drkit(['find', 'config/*.env', '*.sh', '--repo', repo, '--newest', '1']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`snapshot ${second} of `);
    expect(human.stdout).not.toContain(first);
    expect(human.stdout).toMatch(/10 B {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}tree\/config\/secret\.env\n/);
    expect(human.stdout).toMatch(/tree\/bin\/run\.sh\n/);
  });

  it('a pattern that matches nothing is a coded error with a hint', async () => {
    const r = await drkit(['find', 'nothing-like-this*', '--host', 'no-such-host', '--repo', repo, '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({ code: 'CLI_NO_MATCH', message: expect.stringContaining('No path in 0 snapshot(s) of host no-such-host matches "nothing-like-this*"'), hint: expect.stringContaining('drkit ls latest') });
  });
});

describe('drkit snapshots', () => {
  it('shows each snapshot\'s age next to its time, findings and status', async () => {
    const table = (await drkit(['snapshots', '--repo', repo])).stdout.split('\n');
    expect(table[0]).toMatch(/^ID +TIME +AGE +HOST +KIND +STATUS +SOURCES +SIZE +FINDINGS +TAGS$/);
    expect(table[1]).toMatch(new RegExp(`^${first} +\\S+ \\S+ +\\d+[smhd] +`));
    const list = json((await drkit(['snapshots', '--repo', repo, '--json'])).stdout);
    expect(list[0].ageSeconds).toBeGreaterThanOrEqual(0);
    expect(list[0].ageSeconds).toBeLessThan(600);
  });
});
