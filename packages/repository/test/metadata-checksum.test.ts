import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  canonicalJson,
  KEYS,
  metadataChecksum,
  removeLocks,
  Repository,
  RepoErrorCode,
  type SourceItem,
} from '@drkit/repository';

let dir: string;
let root: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-checksum-'));
  root = path.join(dir, 'repo');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function* oneFile(): AsyncGenerator<SourceItem> {
  yield {
    path: 'a.txt',
    type: 'file',
    mode: 0o644,
    mtime: 1_700_000_000_000,
    size: 2,
    content: async function* () {
      yield Buffer.from('hi');
    },
  };
}

async function backup(repo: Repository, second: number) {
  const w = await repo.beginSnapshot({ time: new Date(Date.UTC(2026, 0, 2, 3, 4, second)), toolVersion: 'test' });
  await w.writeSource({ name: 'files', type: 'files', root: { mode: 0o755, mtime: 1_700_000_000_000.25 } }, oneFile());
  return w.commit();
}

/** Flips one bit of the byte at `offset` within the first occurrence of `needle` in a file, as bit rot would. */
async function flipBit(file: string, needle: string, offset: number, bit: number): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.indexOf(needle);
  expect(at).toBeGreaterThanOrEqual(0);
  bytes[at + offset]! ^= 1 << bit;
  await writeFile(file, bytes);
}

const json = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

describe('metadata checksums', () => {
  it(
    'are written into config.json, every snapshot and ' + 'every lock, over the canonical JSON without the field',
    async () => {
      const repo = await Repository.init(new LocalStore(root));
      const meta = await backup(repo, 1);
      const lock = await repo.lock({ exclusive: false, purpose: 'test' });
      try {
        for (const key of [KEYS.config, KEYS.snapshot(meta.id), KEYS.lock(lock.info.id)]) {
          const stored = await json(path.join(root, key));
          expect(stored.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
          expect(metadataChecksum(stored)).toBe(stored.checksum);
        }
      } finally {
        await lock.release();
      }
      expect(canonicalJson({ b: [1.5, 'é\u2028', null], a: { d: true, c: 1e21 }, u: undefined })).toBe(
        '{"a":{"c":1e+21,"d":true},"b":[1.5,"é\u2028",null]}',
      );
    },
  );

  it(
    'catch one flipped bit in a snapshot (time 2026 → 2036, root.mode 493 → 693) as REPO_CHECKSUM_MISMATCH ' +
      'naming the file; latest stays the newest',
    async () => {
      const repo = await Repository.init(new LocalStore(root));
      const oldest = await backup(repo, 1);
      const newest = await backup(repo, 2);
      await flipBit(path.join(root, KEYS.snapshot(oldest.id)), '"time": "2026', 11, 0); // '2' → '3'
      const damaged: Array<{ id: string; code: string; reason: string }> = [];
      expect((await repo.listSnapshots({ onDamaged: (d) => damaged.push(d) })).map((s) => s.id)).toEqual([newest.id]);
      expect(damaged.map((d) => [d.id, d.code])).toEqual([[oldest.id, RepoErrorCode.CHECKSUM_MISMATCH]]);
      expect(damaged[0]!.reason).toContain(
        `${KEYS.snapshot(oldest.id)} in ${root} is damaged: its content does not match its checksum`,
      );
      expect((await repo.resolveSnapshot('latest')).id).toBe(newest.id);

      await flipBit(path.join(root, KEYS.snapshot(newest.id)), '"mode": 493', 8, 1); // '4' → '6'
      await expect(repo.resolveSnapshot(newest.id)).rejects.toMatchObject({
        code: RepoErrorCode.CHECKSUM_MISMATCH,
        details: { key: KEYS.snapshot(newest.id) },
      });
    },
  );

  it(
    'catch a flipped bit in the name of the checksum field ' + 'itself, and accept files written before checksums',
    async () => {
      const repo = await Repository.init(new LocalStore(root));
      const a = await backup(repo, 1);
      const b = await backup(repo, 2);
      // "checksum" → "ciecksum": an unknown field, and no checksum
      await flipBit(path.join(root, KEYS.snapshot(a.id)), '"checksum"', 2, 0);
      const old = await json(path.join(root, KEYS.snapshot(b.id)));
      delete old.checksum;
      await writeFile(path.join(root, KEYS.snapshot(b.id)), JSON.stringify(old));
      const damaged: Array<{ id: string; code: string; reason: string }> = [];
      expect((await repo.listSnapshots({ onDamaged: (d) => damaged.push(d) })).map((s) => s.id)).toEqual([b.id]);
      expect(damaged).toMatchObject([
        {
          id: a.id,
          code: RepoErrorCode.CHECKSUM_MISMATCH,
          reason: expect.stringContaining("the checksum's name is damaged"),
        },
      ]);
    },
  );

  it('catch a flipped bit in config.json before anything is read or written', async () => {
    await Repository.init(new LocalStore(root));
    await flipBit(path.join(root, KEYS.config), '"compression": "auto"', 17, 0); // "auto" → "atto"
    await expect(Repository.open(new LocalStore(root))).rejects.toMatchObject({
      code: RepoErrorCode.CHECKSUM_MISMATCH,
      message: expect.stringContaining(`config.json in ${root} is damaged`),
    });
  });

  it(
    'treat a lock with a flipped bit that keeps it a lock as a damaged exclusive lock: others are refused ' +
      'naming it, its holder counts it lost, unlock --all removes it',
    async () => {
      // (A flip that makes it no lock at all, e.g. not JSON, leaves a
      // file no holder can have written: lock.test.ts has it removed.)
      const repo = await Repository.init(new LocalStore(root));
      const other = await repo.lock({ exclusive: false, purpose: 'backup' });
      await flipBit(
        path.join(root, KEYS.lock(other.info.id)),
        `"pid":${process.pid},`,
        5 + String(process.pid).length,
        0,
      ); // the pid's last digit: valid JSON, wrong content
      await expect(repo.lock({ exclusive: false, purpose: 'verify' })).rejects.toMatchObject({
        code: RepoErrorCode.LOCKED,
        message: expect.stringContaining(
          `locked by a damaged lock file: ${KEYS.lock(other.info.id)} in ${root} is damaged: its content does ` +
            `not match its checksum`,
        ),
      });
      await expect(other.assertHeld()).rejects.toMatchObject({ code: RepoErrorCode.LOCK_LOST });
      expect(await removeLocks(repo.store, { all: false })).toEqual([]);
      expect(await removeLocks(repo.store, { all: true })).toHaveLength(1);
      await (await repo.lock({ exclusive: true, purpose: 'forget' })).release();
      await other.release().catch(() => {});
    },
  );
});
