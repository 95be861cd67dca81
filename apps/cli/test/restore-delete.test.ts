import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTree } from '@drkit/test-support';
import { drkit, useSampleWorkspace } from './cli.js';

let dir: string;
let repo: string;
let tree: string;
useSampleWorkspace((w) => ({ dir, repo, tree } = w));

const json = (s: string) => JSON.parse(s);
const contents = async (root: string) =>
  (await describeTree(root)).map(({ path, type, size, sha256, linkTarget }) => ({
    path,
    type,
    size,
    sha256,
    linkTarget,
  }));

describe('drkit restore --delete', () => {
  it('lists what the snapshot does not hold in the plan first, then makes the target match the snapshot', async () => {
    await drkit(['init', '--repo', repo]);
    await drkit(['backup', tree, '--repo', repo]);
    const target = path.join(dir, 'target');
    await drkit(['restore', 'latest', '--target', target, '--repo', repo]);
    await writeFile(path.join(target, 'tree/extra.txt'), 'not in the snapshot\n');
    await mkdir(path.join(target, 'tree/config/old/deeper'), { recursive: true });
    await writeFile(path.join(target, 'tree/config/old/deeper/x.json'), '{}\n');
    await symlink('elsewhere', path.join(target, 'tree/data/stray-link'));
    await writeFile(path.join(target, 'tree/config/app.json'), '{"port": 1}\n');
    await writeFile(path.join(target, 'outside-any-source.txt'), 'x\n');

    const args = ['restore', 'latest', '--target', target, '--overwrite', 'if-changed', '--delete', '--repo', repo];
    const dry = await drkit([...args, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/remove +tree\/config\/old\/ \(and all below it\)\n/);
    expect(dry.stdout).toMatch(/remove +tree\/extra\.txt\n/);
    expect(dry.stdout).toMatch(/remove +tree\/data\/stray-link@\n/);
    expect(dry.stdout).toContain('To remove (not in the snapshot): 4 path(s)');
    expect(json((await drkit([...args, '--dry-run', '--json'])).stdout).plan.remove).toEqual([
      { path: 'outside-any-source.txt', type: 'file' },
      { path: 'tree/config/old', type: 'dir' },
      { path: 'tree/data/stray-link', type: 'symlink' },
      { path: 'tree/extra.txt', type: 'file' },
    ]);
    expect(existsSync(path.join(target, 'tree/extra.txt'))).toBe(true); // the dry run changed nothing

    const real = await drkit([...args, '--json']);
    expect(real.code).toBe(0);
    expect(json(real.stdout).removed).toHaveLength(4);
    expect(await contents(path.join(target, 'tree'))).toEqual(await contents(tree));
    expect(existsSync(path.join(target, 'outside-any-source.txt'))).toBe(false);
  });

  it('with --include it is refused before anything is changed', async () => {
    await drkit(['init', '--repo', repo]);
    await drkit(['backup', tree, '--repo', repo]);
    const target = path.join(dir, 'target');
    await mkdir(target);
    await writeFile(path.join(target, 'keep.txt'), 'mine\n');
    const r = await drkit([
      'restore',
      'latest',
      '--target',
      target,
      '--overwrite',
      'always',
      '--delete',
      '--include',
      'config/**',
      '--repo',
      repo,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({
      code: 'RESTORE_BAD_OPTIONS',
      hint: expect.stringContaining('without it'),
    });
    expect(existsSync(path.join(target, 'keep.txt'))).toBe(true);
  });
});
