import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '@drkit/storage';
import {
  encodedBytes,
  encodeMetadata,
  entryPathProblem,
  LIMITS,
  linkTargetProblem,
  readLocks,
  Repository,
  RepoErrorCode,
  sourceNameProblem,
  tagProblem,
} from '@drkit/repository';
import { decodeRedisRecords, encodeEnd, encodeMagic, encodeRecordHead } from '../src/redis-records.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-validate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('entry paths', () => {
  it('counts bytes as file names hold them: UTF-8, and one byte per escaped raw byte (U+DC80–U+DCFF)', () => {
    expect(encodedBytes('abc')).toBe(3);
    expect(encodedBytes('é日😀')).toBe(2 + 3 + 4);
    expect(encodedBytes('\udcff\udc80')).toBe(2);
  });

  it.each([
    'a',
    'a/b/c',
    'new\nline/cr\rname',
    '-leading/back\\slash',
    '\udcffraw',
    'n'.repeat(255),
    `${'é'.repeat(127)}x`, // 255 bytes
    Array.from({ length: 20 }, () => 'd'.repeat(199)).join('/'), // 3,999 bytes
  ])('accepts %j', (p) => {
    expect(entryPathProblem(p)).toBeUndefined();
  });

  it.each([
    ['', true],
    ['/etc/passwd', true],
    ['a/../../x', true],
    ['..', true],
    ['a\u0000b', true],
    ['a//b', false],
    ['lone\ud800', false],
    ['\udc7f', false],
    ['./a', false],
    ['a/', false],
    ['n'.repeat(256), false],
    ['é'.repeat(128), false], // 256 bytes in 128 characters
    [Array.from({ length: 21 }, () => 'd'.repeat(199)).join('/'), false], // 4,199 bytes
  ])('refuses %j (escapes: %s)', (p, escapes) => {
    expect(entryPathProblem(p)).toMatchObject({ escapes });
  });

  it('takes link targets that point anywhere, but not empty, NUL or longer than PATH_MAX', () => {
    expect(linkTargetProblem('../../etc/passwd')).toBeUndefined();
    expect(linkTargetProblem('/abs')).toBeUndefined();
    expect(linkTargetProblem('')).toBeDefined();
    expect(linkTargetProblem('a\u0000')).toBeDefined();
    expect(linkTargetProblem('x'.repeat(LIMITS.linkTargetBytes + 1))).toBeDefined();
  });
});

describe('names', () => {
  it.each(['data', 'my.source-2', '.config', 'имя'])('a source may be named %j', (n) =>
    expect(sourceNameProblem(n)).toBeUndefined(),
  );
  it.each(['', '.', '..', 'a/b', 'a\\b', 'tab\t', 'x'.repeat(201)])('a source may not be named %j', (n) =>
    expect(sourceNameProblem(n)).toBeDefined(),
  );
  it.each(['daily', 'pre-deployment', 'clean', 'with space'])('a tag may be %j', (t) =>
    expect(tagProblem(t)).toBeUndefined(),
  );
  it.each(['', ' daily', 'daily ', 'a\nb', 'x'.repeat(129)])('a tag may not be %j', (t) =>
    expect(tagProblem(t)).toBeDefined(),
  );
});

describe('snapshot metadata is the key it is stored under', () => {
  async function oneSnapshot() {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
    const w = await repo.beginSnapshot({ time: new Date('2026-01-02T03:04:05Z'), toolVersion: 'test' });
    await w.writeSource({ name: 'files', type: 'files' }, Readable.from([]));
    const meta = await w.commit();
    const file = path.join(dir, 'repo', 'snapshots', `${meta.id}.json`);
    const edit = async (f: (m: Record<string, any>) => void) => {
      const m = JSON.parse(await readFile(file, 'utf8'));
      f(m);
      await writeFile(file, encodeMetadata(m)); // with its checksum updated: the grammar must hold on its own
    };
    return { repo, meta, edit };
  }

  it.each([
    [
      'an id that differs from the file name',
      (m: Record<string, any>) => (m.id = '20260102T030405Z-000000'),
      'differs from its file name',
    ],
    [
      'an archive key of another snapshot',
      (m: Record<string, any>) => (m.sources[0].archive.key = 'data/20200101T000000Z-abcdef/files.tar.gz'),
      'where the format puts it',
    ],
    [
      'an index key outside data/',
      (m: Record<string, any>) => (m.sources[0].index.key = 'config.json'),
      'where the format puts it',
    ],
    ['a holder that is not an id', (m: Record<string, any>) => (m.sources[0].holders = ['../x']), 'not a snapshot id'],
    ['a parent that is not an id', (m: Record<string, any>) => (m.parent = 'latest'), 'not a snapshot id'],
    ['two sources of one name', (m: Record<string, any>) => m.sources.push(m.sources[0]), 'appears twice'],
    ['an empty tag', (m: Record<string, any>) => (m.tags = ['']), 'tags.0: tag "" is empty'],
    [
      'a root mode beyond 0o7777',
      (m: Record<string, any>) => (m.sources[0].root = { mode: 0o40755, mtime: 0 }),
      'not a mode',
    ],
    ['a negative file count', (m: Record<string, any>) => (m.sources[0].stats.files = -1), 'stats.files'],
    ['a time that is not one', (m: Record<string, any>) => (m.time = 'yesterday'), 'not an ISO 8601 UTC time'],
  ])('%s is damaged metadata, listed as such', async (_, f, why) => {
    const { repo, meta, edit } = await oneSnapshot();
    await edit(f);
    const damaged: Array<{ id: string; reason: string }> = [];
    expect(await repo.listSnapshots({ onDamaged: (d) => damaged.push(d) })).toEqual([]);
    expect(damaged).toEqual([expect.objectContaining({ id: meta.id, reason: expect.stringContaining(why) })]);
    await expect(repo.resolveSnapshot(meta.id)).rejects.toMatchObject({ code: RepoErrorCode.BAD_METADATA });
  });

  it('a file in snapshots/ whose name is not an id is damaged, and prune keeps data of that name', async () => {
    const { repo, meta } = await oneSnapshot();
    await writeFile(
      path.join(dir, 'repo', 'snapshots', 'notes.json'),
      await readFile(path.join(dir, 'repo', 'snapshots', `${meta.id}.json`)),
    );
    const damaged: string[] = [];
    expect(
      (await repo.listSnapshots({ onDamaged: (d) => damaged.push(`${d.id}: ${d.reason}`) })).map((s) => s.id),
    ).toEqual([meta.id]);
    expect(damaged).toEqual([expect.stringContaining('notes: snapshots/notes.json')]);
    expect(damaged[0]).toContain('its file name is not a snapshot id');
  });

  it('writers refuse what readers would refuse: an empty tag, a source named ".."', async () => {
    const repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
    await expect(repo.beginSnapshot({ time: new Date(), toolVersion: 't', tags: [''] })).rejects.toMatchObject({
      code: RepoErrorCode.INVALID_NAME,
    });
    const w = await repo.beginSnapshot({ time: new Date(), toolVersion: 't' });
    await expect(w.writeSource({ name: '..', type: 'files' }, Readable.from([]))).rejects.toMatchObject({
      code: RepoErrorCode.INVALID_NAME,
    });
  });
});

describe('locks and Redis records', () => {
  it("a lock's identity is its key; a lock with a pid that names no single process holds nothing", async () => {
    const store = new LocalStore(path.join(dir, 'repo'));
    const now = new Date().toISOString();
    const lock = { id: '../snapshots/x', exclusive: true, host: 'h', pid: 42, purpose: 'p', time: now, refreshed: now };
    await store.put('locks/a.json', Buffer.from(JSON.stringify(lock)));
    await store.put('locks/b.json', Buffer.from(JSON.stringify({ ...lock, pid: 0 })));
    await store.put('locks/c.json', Buffer.from(JSON.stringify({ ...lock, refreshed: 'soon' })));
    expect((await readLocks(store)).map((l) => l.id)).toEqual(['a']);
  });

  async function decode(db: number): Promise<unknown> {
    const head = encodeRecordHead({ db: 0, key: Buffer.from('k'), type: 'string', expireAt: -1, payloadLength: 1 });
    head.writeUInt32BE(db, 1);
    const bytes = Buffer.concat([encodeMagic(), head, Buffer.from('v'), encodeEnd(1)]);
    try {
      for await (const _ of decodeRedisRecords(Readable.from([bytes])));
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  }

  it('a record naming a database beyond 65535 is damage, not a SELECT', async () => {
    expect(await decode(LIMITS.redisDbMax)).toBe('ok');
    expect(await decode(LIMITS.redisDbMax + 1)).toMatch(/names database 65536/);
  });
});
