import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { readLocks, Repository } from '@drkit/repository';
import { FaultyStore } from './faulty-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('repository locks', () => {
  it('takes the lock when a stale lock cannot be deleted, without an unhandled rejection', async () => {
    const root = path.join(dir, 'repo');
    await Repository.init(new LocalStore(root));
    const repo = await Repository.open(new FaultyStore(root, { delete: /^locks\/dead\.json$/ }));
    await mkdir(path.join(root, 'locks'), { recursive: true });
    const dead = { id: 'dead', exclusive: true, host: 'gone', pid: 1, purpose: 'forget --prune', time: 'x', refreshed: '2020-01-01T00:00:00.000Z' };
    await writeFile(path.join(root, 'locks', 'dead.json'), JSON.stringify(dead));
    const seen: string[] = [];
    const lock = await repo.lock({ exclusive: true, purpose: 'prune', onStale: (l) => seen.push(l.id) });
    expect(seen).toEqual(['dead']);
    // Give the failed delete time to settle: vitest fails the run on an unhandled rejection.
    await new Promise((r) => setTimeout(r, 100));
    await lock.release();
    expect((await readLocks(repo.store)).map((l) => l.id)).toEqual(['dead']);
  });
});
