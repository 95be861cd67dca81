import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { executeRestore, planRestore } from '@drkit/restore-core';
import { listing, setMtimes, snapshotOf } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-restore-names-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('restore of unusual but legal names', () => {
  it('restores names with backslashes as they are: no folders appear, nothing is refused', async () => {
    const source = path.join(dir, 'src');
    await mkdir(path.join(source, 'dir\\name'), { recursive: true });
    await writeFile(path.join(source, 'back\\slash.txt'), 'one\n');
    await writeFile(path.join(source, 'dir\\name', '..\\x'), 'two\n');
    await writeFile(path.join(source, 'C:\\y'), 'three\n');
    await setMtimes(source, 1_700_000_000_123);
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    const meta = await snapshotOf(repo, { files: source });
    const target = path.join(dir, 'restored');
    await executeRestore(repo, await planRestore(repo, { snapshot: meta.id, target, sources: ['files'] }));
    expect((await readdir(target)).sort()).toEqual(['C:\\y', 'back\\slash.txt', 'dir\\name']);
    expect(await listing(target)).toEqual(await listing(source));
  });
});
