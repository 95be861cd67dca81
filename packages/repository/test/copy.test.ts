import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  copySnapshots,
  generateIdentity,
  readLocks,
  Repository,
  RepoErrorCode,
  type SnapshotMeta,
  type SourceItem,
} from '@drkit/repository';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-copy-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const file = (p: string, text: string, extra: Partial<SourceItem> = {}): SourceItem => ({
  path: p,
  type: 'file',
  mode: 0o644,
  mtime: 1_700_000_000_000,
  size: Buffer.byteLength(text),
  content: async function* () {
    yield Buffer.from(text);
  },
  ...extra,
});

async function* from<T>(list: T[]): AsyncGenerator<T> {
  yield* list;
}

async function snapshot(
  repo: Repository,
  items: SourceItem[],
  parent?: SnapshotMeta,
  second = 0,
): Promise<SnapshotMeta> {
  const w = await repo.beginSnapshot({
    time: new Date(Date.UTC(2026, 0, 2, 3, 4, second)),
    toolVersion: 'test',
    ...(parent ? { parent } : {}),
  });
  await w.writeSource({ name: 'files', type: 'files' }, from(items));
  return w.commit();
}

/** What a restore would see: every file's path and content hash, following incrementals' chains. */
async function contents(repo: Repository, id: string): Promise<Record<string, string>> {
  const snap = await repo.resolveSnapshot(id);
  const src = snap.sources[0]!;
  const out: Record<string, string> = {};
  for (const link of await repo.archiveChain(snap, src))
    for await (const e of repo.readArchive(link.source!)) {
      const chunks: Buffer[] = [];
      for await (const c of e.stream) chunks.push(c as Buffer);
      out[e.name] = sha(Buffer.concat(chunks));
    }
  return out;
}

const plainRepo = async (name: string) => Repository.init(new LocalStore(path.join(dir, name)));

describe('copySnapshots', () => {
  it('copies all snapshots with identical contents, skips them the second time, and verifies on arrival', async () => {
    const a = await plainRepo('a');
    const s1 = await snapshot(a, [file('x.txt', 'one')], undefined, 1);
    const s2 = await snapshot(a, [file('x.txt', 'two'), file('y.txt', 'why')], undefined, 2);
    const b = await plainRepo('b');
    const first = await copySnapshots(a, b, 'all');
    expect(first.map((r) => [r.id, r.status, r.mode])).toEqual([
      [s1.id, 'copied', 'as-stored'],
      [s2.id, 'copied', 'as-stored'],
    ]);
    expect((await b.listSnapshots()).map((s) => s.id)).toEqual([s1.id, s2.id]);
    expect(await contents(b, s2.id)).toEqual(await contents(a, s2.id));
    expect((await b.resolveSnapshot(s1.id)).sources).toEqual(s1.sources);
    expect((await copySnapshots(a, b, 'all')).map((r) => r.status)).toEqual(['skipped', 'skipped']);
  });

  it('brings the earlier snapshots an incremental points into', async () => {
    const a = await plainRepo('a');
    const full = await snapshot(a, [file('big.txt', 'unchanged bytes'), file('x.txt', 'v1')], undefined, 1);
    const inc = await snapshot(
      a,
      [
        file('big.txt', 'unchanged bytes', {
          heldBy: full.id,
          sha256: sha(Buffer.from('unchanged bytes')),
          content: undefined,
        }),
        file('x.txt', 'v2'),
      ],
      full,
      2,
    );
    expect(inc.sources[0]!.holders).toEqual([full.id]);
    const b = await plainRepo('b');
    await copySnapshots(a, b, inc.id);
    expect((await b.listSnapshots()).map((s) => s.id)).toEqual([full.id, inc.id]);
    expect(await contents(b, inc.id)).toEqual(await contents(a, inc.id));
  });

  it(
    'reports snapshots whose metadata is damaged, and ' + 'incrementals that need them, as unreadable; copies the rest',
    async () => {
      const a = await plainRepo('a');
      const full = await snapshot(a, [file('big.txt', 'unchanged bytes'), file('x.txt', 'v1')], undefined, 1);
      const inc = await snapshot(
        a,
        [
          file('big.txt', 'unchanged bytes', {
            heldBy: full.id,
            sha256: sha(Buffer.from('unchanged bytes')),
            content: undefined,
          }),
          file('x.txt', 'v2'),
        ],
        full,
        2,
      );
      const other = await snapshot(a, [file('y.txt', 'why')], undefined, 3);
      await writeFile(path.join(dir, 'a', 'snapshots', `${full.id}.json`), '{ damaged');
      const b = await plainRepo('b');
      const results = await copySnapshots(a, b, 'all');
      expect(results.map((r) => [r.id, r.status])).toEqual([
        [inc.id, 'unreadable'],
        [other.id, 'copied'],
        [full.id, 'unreadable'],
      ]);
      expect(results[0]!.reason).toContain(full.id);
      expect((await b.listSnapshots()).map((s) => s.id)).toEqual([other.id]);
      expect((await copySnapshots(a, b, inc.id)).map((r) => [r.id, r.status])).toEqual([[inc.id, 'unreadable']]);
    },
  );

  it('encrypts into an encrypted repository, and re-encrypts between recipients only with the identity', async () => {
    const a = await plainRepo('a');
    const s1 = await snapshot(a, [file('secret.txt', 'MARKER-copy-plaintext')]);
    const k1 = generateIdentity();
    const b = await Repository.init(new LocalStore(path.join(dir, 'b')), {
      encryption: { recipients: [k1.recipient] },
    });
    expect((await copySnapshots(a, b, 'all'))[0]!.mode).toBe('encrypted');
    const inB = await b.resolveSnapshot(s1.id);
    expect(inB.sources[0]!.archive.key).toMatch(/\.age$/);
    expect(inB.encryption).toEqual({ type: 'age', recipients: [k1.recipient] });
    for (const f of await readdir(path.join(dir, 'b'), { recursive: true, withFileTypes: true }))
      if (f.isFile())
        expect((await readFile(path.join(f.parentPath, f.name))).includes('MARKER-copy-plaintext')).toBe(false);
    const bRead = await Repository.open(new LocalStore(path.join(dir, 'b')), { identities: [k1.identity] });
    expect(await contents(bRead, s1.id)).toEqual(await contents(a, s1.id));

    // Same recipients: the blobs travel as they are stored.
    const c = await Repository.init(new LocalStore(path.join(dir, 'c')), {
      encryption: { recipients: [k1.recipient] },
    });
    expect((await copySnapshots(b, c, 'all'))[0]!.mode).toBe('as-stored');
    expect(await readFile(path.join(dir, 'c', inB.sources[0]!.archive.key))).toEqual(
      await readFile(path.join(dir, 'b', inB.sources[0]!.archive.key)),
    );

    // Other recipients: the source's identity is needed to re-encrypt.
    const k2 = generateIdentity();
    const d = await Repository.init(new LocalStore(path.join(dir, 'd')), {
      encryption: { recipients: [k2.recipient] },
    });
    await expect(copySnapshots(b, d, 'all')).rejects.toMatchObject({ code: RepoErrorCode.IDENTITY_REQUIRED });
    expect(await d.listSnapshots()).toEqual([]);
    expect((await copySnapshots(bRead, d, 'all'))[0]!.mode).toBe('re-encrypted');
    const dRead = await Repository.open(new LocalStore(path.join(dir, 'd')), { identities: [k2.identity] });
    expect(await contents(dRead, s1.id)).toEqual(await contents(a, s1.id));
    expect((await dRead.resolveSnapshot(s1.id)).encryption?.recipients).toEqual([k2.recipient]);

    // Never decrypted into a plain repository.
    const e = await plainRepo('e');
    await expect(copySnapshots(bRead, e, 'all')).rejects.toMatchObject({ code: RepoErrorCode.COPY_WOULD_DECRYPT });
    expect(await e.listSnapshots()).toEqual([]);
  });

  it('refuses a damaged source blob and leaves nothing of that snapshot in the destination', async () => {
    const a = await plainRepo('a');
    const s1 = await snapshot(a, [file('x.txt', 'x'.repeat(10_000))]);
    const blob = path.join(dir, 'a', s1.sources[0]!.archive.key);
    const bytes = await readFile(blob);
    bytes[bytes.length - 20]! ^= 1;
    await writeFile(blob, bytes);
    const b = await plainRepo('b');
    await expect(copySnapshots(a, b, 'all')).rejects.toMatchObject({
      code: RepoErrorCode.DIGEST_MISMATCH,
      message: expect.stringContaining(s1.sources[0]!.archive.key),
    });
    expect(await b.listSnapshots()).toEqual([]);
    expect(await readdir(path.join(dir, 'b', 'data')).catch(() => [])).toEqual([]);
  });

  it('commits nothing in the destination when its lock there was removed mid-copy (REPO_LOCK_LOST)', async () => {
    const a = await plainRepo('a');
    await snapshot(a, [file('x.txt', 'x')]);
    const b = await plainRepo('b');
    const locks = path.join(dir, 'b', 'locks');
    // What `drkit unlock --all` does to a folder repository, before the blobs are copied.
    const copying = copySnapshots(a, b, 'all', {
      onSnapshot: () => {
        for (const f of readdirSync(locks)) rmSync(path.join(locks, f));
      },
    });
    await expect(copying).rejects.toMatchObject({ code: RepoErrorCode.LOCK_LOST });
    expect(await b.listSnapshots()).toEqual([]);
    expect(await readdir(path.join(dir, 'b', 'data')).catch(() => [])).toEqual([]);
  });

  it('releases the source lock when the destination cannot be locked', async () => {
    const a = await plainRepo('a');
    await snapshot(a, [file('x.txt', 'x')]);
    const b = await plainRepo('b');
    const prune = await b.lock({ exclusive: true, purpose: 'forget --prune' });
    await expect(copySnapshots(a, b, 'all')).rejects.toMatchObject({ code: RepoErrorCode.LOCKED });
    expect(await readLocks(a.store)).toEqual([]);
    await prune.release();
    expect(await b.listSnapshots()).toEqual([]);
  });
});
