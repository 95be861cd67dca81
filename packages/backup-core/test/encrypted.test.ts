import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { generateIdentity, Repository } from '@drkit/repository';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { makeSampleTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('backups into an encrypted repository', () => {
  it('need only the public keys: without the identity every backup is a full, with it incrementals resume', async () => {
    const tree = path.join(dir, 'tree');
    await makeSampleTree(tree);
    const key = generateIdentity();
    const store = new LocalStore(path.join(dir, 'repo'));
    await Repository.init(store, { encryption: { recipients: [key.recipient] } });
    const backup = async (repo: Repository) => runBackup(repo, { sources: sourcesFromPaths([tree]), toolVersion: 'test' });

    const first = await backup(await Repository.open(store));
    const second = await backup(await Repository.open(store));
    expect([first.snapshot.kind, second.snapshot.kind]).toEqual(['full', 'full']);
    expect(second.chain).toMatch(/encrypted and no identity was given/);
    expect(second.snapshot.encryption).toEqual({ type: 'age', recipients: [key.recipient] });

    const third = await backup(await Repository.open(store, { identities: [key.identity] }));
    expect(third.snapshot).toMatchObject({ kind: 'incremental', parent: second.snapshot.id });
  });
});
