import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { tempDir } from '@drkit/test-support';
import { runBackup, sourcesFromPaths } from '../src/index.js';

// The fault no real file system produces: an entry the walk saw that leaves the file source
// without being yielded or reported (a bug, like the one that dropped names with newlines).
const fault = vi.hoisted(() => ({ drop: undefined as string | undefined }));
vi.mock('../src/file-source.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/file-source.js')>();
  async function* fileSourceItems(...args: Parameters<typeof real.fileSourceItems>) {
    for await (const item of real.fileSourceItems(...args)) if (item.path !== fault.drop) yield item;
  }
  return { ...real, fileSourceItems };
});

let dir: string;
let cleanup: () => Promise<void>;
let tree: string;
let repo: Repository;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  tree = path.join(dir, 'tree');
  await mkdir(path.join(tree, 'logs'), { recursive: true });
  for (const name of ['new\nline', 'cr\rname', 'plain']) await writeFile(path.join(tree, 'logs', name), name);
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
  fault.drop = undefined;
});
afterEach(() => cleanup());

const indexed = async (id: string) => {
  const paths: string[] = [];
  const snap = await repo.resolveSnapshot(id);
  for await (const e of repo.readIndex(repo.source(snap, 'tree'))) paths.push(e.path);
  return paths;
};

describe('every entry the walk sees is written, left out by a glob, or reported', () => {
  it('include and exclude globs match names with newlines and carriage returns', async () => {
    const [source] = sourcesFromPaths([tree]);
    const result = await runBackup(repo, {
      sources: [{ ...source!, include: ['logs/**'], exclude: ['**/cr*'] }],
      toolVersion: 'test',
    });
    expect(await indexed(result.snapshot.id)).toEqual(['logs', 'logs/new\nline', 'logs/plain']);
  });

  it('fails the backup loudly, committing nothing, when an entry is neither written nor reported', async () => {
    fault.drop = 'logs/new\nline';
    const backup = runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });
    await expect(backup).rejects.toMatchObject({
      code: 'BACKUP_ENTRIES_LOST',
      message: expect.stringContaining('(1 missing)'),
    });
    expect(await repo.listSnapshots()).toEqual([]);
  });
});
