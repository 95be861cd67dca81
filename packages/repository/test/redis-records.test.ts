import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  checkDumpPayload,
  crc64,
  displayKey,
  messageKey,
  KEYS,
  type RedisRecord,
  Repository,
  RepoErrorCode,
  type SnapshotMeta,
} from '@drkit/repository';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-redis-records-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A payload shaped like DUMP output: body, RDB version (LE), CRC-64 (LE). */
function payload(body: Buffer, rdb = 10): Buffer {
  const out = Buffer.concat([body, Buffer.from([rdb & 0xff, rdb >> 8]), Buffer.alloc(8)]);
  out.writeBigUInt64LE(crc64(out.subarray(0, out.length - 8)), out.length - 8);
  return out;
}

const records = (): RedisRecord[] => [
  {
    db: 0,
    key: Buffer.from('str'),
    type: 'string',
    expireAt: -1,
    payload: payload(Buffer.from([0, 5, ...Buffer.from('hello')])),
  },
  {
    db: 0,
    key: Buffer.from([0, 0xff, 0x0a, 0x0d]),
    type: 'string',
    expireAt: 1_900_000_000_123,
    payload: payload(Buffer.from([0, 1, 0xfe])),
  },
  // Bigger than any chunk, so the reader assembles it from several.
  { db: 2, key: Buffer.from('big'), type: 'string', expireAt: -1, payload: payload(Buffer.alloc(300_000, 7), 11) },
  { db: 15, key: Buffer.from('ünï'), type: 'hash', expireAt: 1, payload: payload(Buffer.from([16, 1, 2, 3])) },
];

async function* from<T>(list: T[]): AsyncGenerator<T> {
  yield* list;
}

async function write(repo: Repository, list: RedisRecord[]): Promise<SnapshotMeta> {
  const w = await repo.beginSnapshot({ time: new Date('2026-01-02T03:04:05Z'), toolVersion: 'test' });
  await w.writeRedisSource({ name: 'cache', type: 'redis', origin: 'redis://:***@h:6379' }, from(list), () => ({
    server: { version: '7.2.4', mode: 'standalone' },
    skippedVanished: 3,
  }));
  return w.commit();
}

async function readAll(repo: Repository, meta: SnapshotMeta): Promise<RedisRecord[]> {
  const out: RedisRecord[] = [];
  for await (const r of repo.readRedisRecords(repo.source(meta, 'cache')))
    out.push({ ...r, payload: Buffer.from(r.payload) });
  return out;
}

/** Rewrites the decompressed archive and the metadata's digest to match, as damage before compression would. */
async function tamper(meta: SnapshotMeta, edit: (raw: Buffer) => Buffer): Promise<SnapshotMeta> {
  const ref = meta.sources[0]!.archive;
  const file = path.join(dir, 'repo', ref.key);
  const stored = gzipSync(edit(gunzipSync(await readFile(file))));
  await writeFile(file, stored);
  const next = structuredClone(meta);
  Object.assign(next.sources[0]!.archive, {
    size: stored.length,
    sha256: createHash('sha256').update(stored).digest('hex'),
  });
  await writeFile(path.join(dir, 'repo', KEYS.snapshot(meta.id)), JSON.stringify(next));
  return next;
}

describe('Redis records', () => {
  it(
    'round-trips binary keys, expiries and large payloads, ' + 'and records counts and the highest RDB version',
    async () => {
      const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
      const meta = await write(repo, records());
      const src = meta.sources[0]!;
      expect(src.archive.key).toBe(`data/${meta.id}/cache.redis.gz`);
      expect(src.index).toBeUndefined();
      expect(src.redis).toMatchObject({
        records: 4,
        rdbVersion: 11,
        skippedVanished: 3,
        pointInTime: false,
        dbs: [
          { db: 0, keys: 2 },
          { db: 2, keys: 1 },
          { db: 15, keys: 1 },
        ],
      });
      const back = await readAll(await Repository.open(new LocalStore(path.join(dir, 'repo'))), meta);
      expect(back).toEqual(records());
      expect(
        gunzipSync(await readFile(path.join(dir, 'repo', src.archive.key)))
          .subarray(0, 14)
          .toString(),
      ).toBe('DRKIT-REDIS 1\n');
    },
  );

  it('checks DUMP footers with CRC-64/Jones and shows keys readably', () => {
    expect(crc64(Buffer.from('123456789')).toString(16)).toBe('e9c6d914c4b8d9ca');
    const p = payload(Buffer.from('body'), 12);
    expect(checkDumpPayload(p)).toMatchObject({ rdbVersion: 12, ok: true });
    p[1]! ^= 1;
    expect(checkDumpPayload(p)!.ok).toBe(false);
    expect(displayKey(Buffer.from('token:1'))).toBe('"token:1"');
    expect(displayKey(Buffer.from([0, 0xff]))).toBe('0x00ff');
  });

  it('messageKey shows a long key by its first 64 bytes, whole characters, and its length', () => {
    expect(messageKey(Buffer.from('token:1'))).toBe('"token:1"');
    expect(messageKey(Buffer.alloc(64, 0x61))).toBe(`"${'a'.repeat(64)}"`);
    expect(messageKey(Buffer.alloc(5000, 0xab))).toBe(`0x${'ab'.repeat(64)}… (5000 bytes)`);
    // Byte 64 is inside an "é": the cut comes before it, so the key stays text.
    expect(messageKey(Buffer.from(`a${'é'.repeat(40)}`))).toBe(`"a${'é'.repeat(31)}"… (81 bytes)`);
  });

  it('names the record and the key before it where the framing is damaged', async () => {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
    const meta = await write(repo, records());
    // The tag byte of the third record ("big"), found by its key.
    const bad = await tamper(meta, (raw) => {
      const at = raw.indexOf(Buffer.from('big')) - 9;
      const out = Buffer.from(raw);
      out[at] = 0x58;
      return out;
    });
    await expect(readAll(repo, bad)).rejects.toMatchObject({
      code: RepoErrorCode.CORRUPT_ARCHIVE,
      message: expect.stringContaining(
        'cannot be read at record 3 after key 0x00ff0a0d: record 3 starts with byte 0x58 instead of "R"',
      ),
    });
  });

  it('refuses a truncated archive and one whose end marker miscounts', async () => {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
    const meta = await write(repo, records());
    const truncated = await tamper(meta, (raw) => raw.subarray(0, raw.length - 9));
    await expect(readAll(repo, truncated)).rejects.toMatchObject({
      message: expect.stringContaining('ends without its end marker (truncated)'),
    });
    const meta2 = await write(repo, records());
    const miscount = await tamper(meta2, (raw) => {
      const out = Buffer.from(raw);
      out.writeBigUInt64BE(9n, out.length - 8);
      return out;
    });
    await expect(readAll(repo, miscount)).rejects.toMatchObject({
      message: expect.stringContaining('its end marker counts 9 records but 4 were read'),
    });
  });
});
