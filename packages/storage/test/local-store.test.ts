import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PassThrough, Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import {
  blobStoreContract,
  lend,
  LocalStore,
  MeteredStore,
  processTag,
  StorageErrorCode,
  type TempFile,
} from '@drkit/storage';

blobStoreContract({ describe, it, beforeEach, afterEach }, 'LocalStore', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
  return { store: new LocalStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

blobStoreContract({ describe, it, beforeEach, afterEach }, 'MeteredStore over LocalStore', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
  return { store: new MeteredStore(new LocalStore(dir)), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('MeteredStore', () => {
  it('counts the bytes put and got as they flow, and passes each chunk on as it came', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    const local = new LocalStore(dir);
    const seen: number[] = [];
    // Records the chunks the inner store is handed; the bytes still land in a real LocalStore.
    const inner = Object.assign(Object.create(local) as LocalStore, {
      put: async (key: string, body: Readable) => {
        body.on('data', (c: Buffer) => seen.push(c.length));
        body.pause();
        return local.put(key, body);
      },
    });
    const counts: number[] = [];
    const store = new MeteredStore(inner, (m) => counts.push(m.written + m.read));
    // 200 chunks pushed at once: a Readable's iterator would have joined them into a few large buffers.
    const chunks = Array.from({ length: 200 }, (_, i) => Buffer.alloc(1000 + i, i));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    await store.put('a/blob', Readable.from(chunks, { objectMode: false }));
    expect(seen).toEqual(chunks.map((c) => c.length));
    expect(store.bytesWritten).toBe(total);
    const got: Buffer[] = [];
    for await (const c of await store.get('a/blob')) got.push(c as Buffer);
    expect(Buffer.concat(got).equals(Buffer.concat(chunks))).toBe(true);
    expect(store.bytesRead).toBe(total);
    expect(counts.at(-1)).toBe(2 * total);
    expect(counts.every((n, i) => i === 0 || n >= counts[i - 1]!)).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('LocalStore on disk', () => {
  it('hands each lent chunk back only once it is written, so its lender can refill it at once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    const free: Buffer[] = [];
    let allocated = 0;
    let lent = 0;
    let handedBack = 0;
    const expected: Buffer[] = [];
    // Like the compressor's stored frames: 128 KiB views of reused buffers between 3-byte headers.
    function* chunks(): Generator<Buffer> {
      for (let i = 0; i < 40; i++) {
        const head = Buffer.from([i, i, i]);
        expected.push(head);
        yield head;
        if (free.length === 0) {
          allocated++;
          free.push(Buffer.alloc(128 * 1024));
        }
        const buf = free.pop()!;
        buf.fill(i + 1);
        expected.push(Buffer.from(buf));
        lent++;
        yield lend(buf, () => {
          handedBack++;
          free.push(buf.fill(0xee)); // overwritten at once: a chunk handed back too early would show in the file
        });
      }
    }
    const store = new MeteredStore(new LocalStore(dir));
    const info = await store.put('a/blob', Readable.from(chunks(), { objectMode: false }));
    const file = await readFile(path.join(dir, 'a', 'blob'));
    expect(file.equals(Buffer.concat(expected))).toBe(true);
    expect(info.size).toBe(file.length);
    expect(handedBack).toBe(lent);
    expect(allocated).toBeLessThan(lent / 2);
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps blobs as plain files under their keys, and no temp files after a put', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    const store = new LocalStore(dir);
    await store.put('data/x/file.bin', Buffer.from('abc'));
    expect(await readdir(path.join(dir, 'data', 'x'))).toEqual(['file.bin']);
    expect(await readdir(path.join(dir, '.tmp'))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('removes folders a delete leaves empty, and only those', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    const store = new LocalStore(dir);
    await store.put('data/a/x', Buffer.from('x'));
    await store.put('data/b/y', Buffer.from('y'));
    await store.delete('data/a/x');
    expect((await readdir(path.join(dir, 'data'))).sort()).toEqual(['b']);
    await store.put('data/a/z', Buffer.from('z'));
    expect(await readdir(path.join(dir, 'data', 'a'))).toEqual(['z']);
    await rm(dir, { recursive: true, force: true });
  });

  it('fails a read that the disk refuses part-way with STORAGE_IO, not a bare errno error', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    // A folder where the blob should be opens, then every read fails (EISDIR): a real failed read.
    await mkdir(path.join(dir, 'data', 'x'), { recursive: true });
    const stream = await new LocalStore(dir).get('data/x');
    await expect(stream.toArray()).rejects.toMatchObject({
      code: StorageErrorCode.IO,
      message: expect.stringContaining('Could not read data/x'),
    });
    await rm(dir, { recursive: true, force: true });
  });

  it("puts into a folder that concurrent deletes keep emptying and removing (parallel readers' locks)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    const store = new LocalStore(dir);
    await store.put('config', Buffer.from('x'));
    // Each worker puts its lock and deletes it again; each delete removes `locks/` when it leaves it empty.
    const worker = async (w: number) => {
      for (let i = 0; i < 300; i++) {
        await store.put(`locks/${w}-${i}`, Buffer.from('lock'));
        await store.delete(`locks/${w}-${i}`);
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining(['locks']));
    await rm(dir, { recursive: true, force: true });
  });

  it('fails a put with STORAGE_IO when its temp folder cannot be made', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    await writeFile(path.join(dir, '.tmp'), 'a file where the folder should be');
    await expect(new LocalStore(dir).put('a', Buffer.from('x'))).rejects.toMatchObject({ code: StorageErrorCode.IO });
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'names each temp file after its writer; cleanupTemp removes only the ones the caller calls garbage, and ' +
      'says which',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
      const store = new LocalStore(dir);
      expect(await store.cleanupTemp(() => true)).toEqual([]); // no temp folder yet
      const tmp = path.join(dir, '.tmp');
      // A put in progress: its temp file carries this host and pid.
      const body = new PassThrough();
      const putting = store.put('data/x/file.bin', body);
      body.write('abc');
      let names: string[] = [];
      while (names.length === 0) names = await readdir(tmp).catch(() => []);
      expect(names[0]).toMatch(/^\d+@.+-[0-9a-f]{16}\.part$/);
      expect(names[0]!.startsWith(`${processTag()}-`)).toBe(true);
      await writeFile(path.join(tmp, 'old-style.part'), 'partial');
      await writeFile(path.join(tmp, 'not-ours.txt'), 'partial');
      const seen: TempFile[] = [];
      const removed = await store.cleanupTemp((f) => {
        seen.push(f);
        return f.owner === undefined;
      });
      expect(seen.map((f) => f.owner)).toEqual(
        expect.arrayContaining([undefined, { host: hostname(), pid: process.pid }]),
      );
      expect(removed).toEqual([expect.objectContaining({ name: 'old-style.part', size: 7 })]);
      body.end('def');
      await putting;
      expect((await readdir(tmp)).sort()).toEqual(['not-ours.txt']);
      expect(await readdir(path.join(dir, 'data', 'x'))).toEqual(['file.bin']);
      await rm(dir, { recursive: true, force: true });
    },
  );

  it('removeEmptyFolders removes the empty folders under a prefix, and nothing else', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drkit-store-'));
    const store = new LocalStore(dir);
    await store.put('data/full/file.bin', Buffer.from('abc'));
    await mkdir(path.join(dir, 'data', 'left-empty'));
    expect(await store.removeEmptyFolders('data/')).toEqual(['data/left-empty/']);
    expect(await readdir(path.join(dir, 'data'))).toEqual(['full']);
    expect(await store.removeEmptyFolders('nothing/')).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
