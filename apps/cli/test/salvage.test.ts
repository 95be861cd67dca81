import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTree } from '@drkit/test-support';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const RANDOM = ['zz/r1.bin', 'zz/r2.bin', 'zz/r3.bin'];

/** The sample tree, a file that sorts first, and three random 1 MiB files at the end: several gzip members. */
async function backUpTree(): Promise<string> {
  await writeFile(path.join(tree, 'aaa-early.txt'), 'written before the damage\n');
  await mkdir(path.join(tree, 'zz'));
  for (const f of RANDOM) await writeFile(path.join(tree, f), randomBytes(1_100_000));
  expect((await drkit(['init', '--repo', repo, '--compression', 'gzip'])).code).toBe(0);
  expect((await drkit(['backup', tree, '--repo', repo])).code).toBe(0);
  const id = (await readdir(path.join(repo, 'data')))[0]!;
  return path.join(repo, 'data', id, 'tree.tar.gz');
}

/** Writes 4 bytes over the archive, `fromEnd` bytes before its end: inside the random files' members. */
async function damage(archive: string, fromEnd: number): Promise<void> {
  const fh = await open(archive, 'r+');
  const { size } = await fh.stat();
  await fh.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, size - fromEnd);
  await fh.close();
}

const byPath = (entries: Awaited<ReturnType<typeof describeTree>>) => new Map(entries.map((e) => [e.path, e]));

describe('restore --salvage', () => {
  it(
    'fails a damaged restore as before, naming --salvage; with it, restores everything else, lists the lost ' +
      'files and exits 5',
    async () => {
      await damage(await backUpTree(), 1_500_000);
      const plain = await drkit(['restore', 'latest', '--target', path.join(dir, 'plain'), '--repo', repo]);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toContain('drkit restore --salvage');
      expect(existsSync(path.join(dir, 'plain'))).toBe(false);

      const target = path.join(dir, 'salvaged');
      const r = await drkit(['restore', 'latest', '--source', 'tree', '--target', target, '--repo', repo, '--salvage']);
      expect(r.code, r.stderr).toBe(5);
      const lost = [...r.stdout.matchAll(/^lost: (\S+) \(file/gm)].map((m) => m[1]!);
      expect(lost.length).toBeGreaterThan(0);
      expect(RANDOM).toEqual(expect.arrayContaining(lost));
      expect(r.stdout).toMatch(/^damaged: data\/\S+\/tree\.tar\.gz \(source "tree"\), bytes \d+–\d+$/m);
      const original = byPath(await describeTree(tree, { hash: true }));
      const restored = byPath(await describeTree(target, { hash: true }));
      for (const [p, e] of original) {
        if (lost.includes(p)) expect(restored.has(p), p).toBe(false);
        else expect(restored.get(p), p).toEqual(e);
      }

      const j = await drkit([
        'restore',
        'latest',
        '--source',
        'tree',
        '--target',
        path.join(dir, 'json'),
        '--repo',
        repo,
        '--salvage',
        '--json',
      ]);
      expect(j.code).toBe(5);
      const result = JSON.parse(j.stdout);
      expect(result.salvage.lost.map((l: { path: string }) => l.path).sort()).toEqual([...lost].sort());
      expect(result.salvage.damaged[0].spans.length).toBeGreaterThan(0);
    },
  );

  it(
    'restores files before the damage with --include, which ' +
      'failed before; exit 0, since nothing selected was lost',
    async () => {
      await damage(await backUpTree(), 1_500_000);
      expect(
        (
          await drkit([
            'restore',
            'latest',
            '--target',
            path.join(dir, 'a'),
            '--include',
            'aaa-early.txt',
            '--repo',
            repo,
          ])
        ).code,
      ).toBe(1);
      const r = await drkit([
        'restore',
        'latest',
        '--source',
        'tree',
        '--target',
        path.join(dir, 'b'),
        '--include',
        'aaa-early.txt',
        '--repo',
        repo,
        '--salvage',
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('salvage: nothing was lost');
      expect(existsSync(path.join(dir, 'b', 'aaa-early.txt'))).toBe(true);
    },
  );

  it('verify names the damaged byte ranges and the paths they cost, and still exits 4', async () => {
    await damage(await backUpTree(), 1_500_000);
    const v = await drkit(['verify', 'latest', '--repo', repo]);
    expect(v.code).toBe(4);
    expect(v.stderr).toMatch(/damaged: data\/\S+\/tree\.tar\.gz, bytes \d+–\d+/);
    expect(v.stderr).toMatch(/`drkit restore --salvage` would restore \d+ entries and lose [1-3]\b/);
    const lost = [...v.stderr.matchAll(/^ {6}lost: (\S+): /gm)].map((m) => m[1]!);
    const r = await drkit([
      'restore',
      'latest',
      '--source',
      'tree',
      '--target',
      path.join(dir, 't'),
      '--repo',
      repo,
      '--salvage',
      '--json',
    ]);
    expect(
      JSON.parse(r.stdout)
        .salvage.lost.map((l: { path: string }) => l.path)
        .sort(),
    ).toEqual(lost.sort());
    const j = JSON.parse((await drkit(['verify', 'latest', '--repo', repo, '--json'])).stdout);
    expect(j.snapshots[0].sources[0].damage.lost.map((l: { path: string }) => l.path).sort()).toEqual(lost.sort());
  });

  it('an incremental whose unchanged files live in a damaged full loses only those files', async () => {
    const archive = await backUpTree();
    await writeFile(path.join(tree, 'aaa-early.txt'), 'changed after the full\n');
    await writeFile(path.join(tree, 'zz', 'r1.bin'), randomBytes(1_100_000));
    expect((await drkit(['backup', tree, '--repo', repo])).code).toBe(0);
    await damage(archive, 1_000_000); // in the full's last random member: r2 or r3, never r1 (now in the incremental)
    const target = path.join(dir, 'inc');
    const r = await drkit([
      'restore',
      'latest',
      '--source',
      'tree',
      '--target',
      target,
      '--repo',
      repo,
      '--salvage',
      '--json',
    ]);
    expect(r.code).toBe(5);
    const lost = JSON.parse(r.stdout).salvage.lost.map((l: { path: string }) => l.path);
    expect(lost.length).toBeGreaterThan(0);
    expect(['zz/r2.bin', 'zz/r3.bin']).toEqual(expect.arrayContaining(lost));
    const original = byPath(await describeTree(tree, { hash: true }));
    const restored = byPath(await describeTree(target, { hash: true }));
    for (const [p, e] of original) if (!lost.includes(p)) expect(restored.get(p), p).toEqual(e);
  });
});
