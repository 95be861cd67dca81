import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifySnapshot } from '@drkit/integrity-verifier';
import { checkDumpPayload, crc64, encodeMetadata, KEYS, Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import { type RunningRedis, seedRedis, snapshotRedis, startRedis, tempDir } from '@drkit/test-support';

const DBS = [0, 1, 3];
let server: RunningRedis;
let dir: string;
let cleanup: () => Promise<void>;
let repo: Repository;

beforeAll(async () => {
  server = await startRedis();
  await seedRedis(server.client());
});
afterAll(() => server.stop());
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
});
afterEach(() => cleanup());

describe('CRC-64 of DUMP payloads', () => {
  it('is CRC-64/Jones: the check value, and the footer of real DUMP output of every type', async () => {
    expect(crc64(Buffer.from('123456789')).toString(16)).toBe('e9c6d914c4b8d9ca');
    const c = server.client();
    for (const key of ['str', 'hash', 'hash:big', 'list', 'set', 'set:ints', 'zset', 'stream']) {
      const payload = (await c.dumpBuffer(key))!;
      expect(checkDumpPayload(payload), key).toMatchObject({ rdbVersion: server.rdbVersion, ok: true });
      payload[2]! ^= 0x01;
      expect(checkDumpPayload(payload)!.ok, key).toBe(false);
    }
  });
});

describe('verifying a Redis source without a server', () => {
  it('passes a good snapshot, counting every key', async () => {
    const snap = await snapshotRedis(repo, server.client(), DBS);
    const report = await verifySnapshot(repo, snap);
    expect(report.ok).toBe(true);
    expect(report.sources[0]).toMatchObject({
      name: 'redis',
      ok: true,
      entries: snap.sources[0]!.redis!.records,
      problems: [],
    });
  });

  it('names the key whose DUMP payload is damaged', async () => {
    // Damage before compression (bad memory, a faulty writer): the archive's digest still matches.
    const snap = await snapshotRedis(repo, server.client(), DBS, {
      tamper: (r) => {
        if (r.key.toString() !== 'hash') return r;
        const payload = Buffer.from(r.payload);
        payload[5]! ^= 0xff;
        return { ...r, payload };
      },
    });
    const report = await verifySnapshot(repo, snap);
    expect(report.ok).toBe(false);
    expect(report.sources[0]!.problems).toEqual([
      {
        kind: 'corrupt-record',
        source: 'redis',
        entry: 'db0:"hash"',
        message: expect.stringMatching(
          /^key "hash" in database 0: its DUMP payload fails its CRC-64 check .*the value is damaged$/,
        ),
      },
    ]);
  });

  it('reports damaged stored bytes, naming the key where reading stopped', async () => {
    // ~800 KiB of incompressible values, so the damage lies past the first chunks decoded.
    const c = server.client();
    const bulk = Array.from({ length: 400 }, (_, i) => `bulk:${i}`);
    await c.mset(Object.fromEntries(bulk.map((k) => [k, randomBytes(2048)])));
    const snap = await snapshotRedis(repo, c, DBS).finally(() => c.del(...bulk));
    const blob = path.join(dir, 'repo', snap.sources[0]!.archive.key);
    const fh = await open(blob, 'r+');
    const { size } = await fh.stat();
    await fh.write(Buffer.from('garbage!'), 0, 8, Math.floor(size / 2));
    await fh.close();
    const report = await verifySnapshot(repo, snap);
    expect(report.ok).toBe(false);
    // Where the garbage lands decides whether decompression, framing or a payload CRC trips first;
    // in every case the stored digest is wrong and the report names a key.
    const problems = report.sources[0]!.problems;
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'digest-mismatch' }));
    expect(problems.filter((p) => p.kind !== 'digest-mismatch')).toContainEqual(
      expect.objectContaining({ message: expect.stringMatching(/key "[^"]+"/) }),
    );
  });

  it('finds per-database counts that do not match the metadata', async () => {
    const snap = await snapshotRedis(repo, server.client(), DBS);
    const metaPath = path.join(dir, 'repo', KEYS.snapshot(snap.id));
    const meta = JSON.parse(await readFile(metaPath, 'utf8'));
    meta.sources[0].redis.dbs[1].keys += 1;
    await writeFile(metaPath, encodeMetadata(meta)); // an edit with its checksum updated
    const report = await verifySnapshot(repo, await repo.resolveSnapshot(snap.id));
    expect(report.sources[0]!.problems).toEqual([
      expect.objectContaining({
        kind: 'count-mismatch',
        message: 'database 1: the archive holds 4 keys but the metadata records 5',
      }),
    ]);
  });
});
