import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { Repository, type SourceItem } from '@drkit/repository';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-prune-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* oneFile(): AsyncGenerator<SourceItem> {
  yield { path: 'a.txt', type: 'file', mode: 0o644, mtime: 1_700_000_000_000, size: 2, content: async function* () { yield Buffer.from('hi'); } };
}

const MIN = 60_000;

describe('pruneData', () => {
  it('keeps data a backup may still be writing (made within the stale-lock window), even with no lock held', async () => {
    const root = path.join(dir, 'repo');
    const repo = await Repository.init(new LocalStore(root));
    const now = new Date();
    const old = await repo.beginSnapshot({ time: new Date(now.getTime() - 120 * MIN), toolVersion: 'test' });
    await old.writeSource({ name: 'files', type: 'files' }, oneFile());
    await old.commit();
    await repo.forgetSnapshot(old.id);
    // Written, not committed, and no lock: as when `drkit unlock --all` removed a running backup's lock.
    const running = await repo.beginSnapshot({ time: new Date(now.getTime() - 5 * MIN), toolVersion: 'test' });
    await running.writeSource({ name: 'files', type: 'files' }, oneFile());

    expect((await repo.pruneData({ now })).snapshots).toEqual([old.id]);
    expect(await readdir(path.join(root, 'data'))).toEqual([running.id]);
    // Once the window has passed, nothing can still be writing it.
    expect((await repo.pruneData({ now: new Date(now.getTime() + 30 * MIN) })).snapshots).toEqual([running.id]);
    expect(await readdir(path.join(root, 'data')).catch(() => [])).toEqual([]);
  });
});
