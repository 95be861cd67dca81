import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import { generateIdentity, Repository } from '@drkit/repository';
import { verifySnapshot } from '@drkit/integrity-verifier';
import { makeSampleTree, snapshotTree, tempDir } from '@drkit/test-support';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

async function setup() {
  const tree = path.join(dir, 'tree');
  await makeSampleTree(tree);
  const key = generateIdentity();
  const store = new LocalStore(path.join(dir, 'repo'));
  await Repository.init(store, { encryption: { recipients: [key.recipient] } });
  const snap = await snapshotTree(await Repository.open(store), tree);
  return { key, store, snap };
}

describe('verify of an encrypted repository', () => {
  it('with the identity: reads and checks every entry', async () => {
    const { key, store, snap } = await setup();
    const report = await verifySnapshot(await Repository.open(store, { identities: [key.identity] }), snap);
    expect(report).toMatchObject({ ok: true, contentChecked: true });
    expect(report.sources[0]!.entries).toBe(snap.sources[0]!.index!.entries);
  });

  it('without it: checks every stored blob digest, and says the contents were not checked', async () => {
    const { store, snap } = await setup();
    const report = await verifySnapshot(await Repository.open(store), snap);
    expect(report).toMatchObject({ ok: true, contentChecked: false });
    const src = snap.sources[0]!;
    expect(report.sources[0]).toMatchObject({
      contentChecked: false,
      bytes: src.archive.size + src.index!.size,
      note: expect.stringContaining('no identity'),
    });
  });

  it('without it: still finds a flipped byte and a missing blob', async () => {
    const { store, snap } = await setup();
    const src = snap.sources[0]!;
    const fh = await open(path.join(dir, 'repo', src.archive.key), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 200);
    byte[0]! ^= 0x42;
    await fh.write(byte, 0, 1, 200);
    await fh.close();
    await rm(path.join(dir, 'repo', src.index!.key));
    const report = await verifySnapshot(await Repository.open(store), snap);
    expect(report.ok).toBe(false);
    expect(report.sources[0]!.problems.map((p) => p.kind).sort()).toEqual(['digest-mismatch', 'missing-blob']);
  });
});
