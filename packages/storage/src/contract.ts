import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore } from './blob-store.js';
import { StorageErrorCode } from './errors.js';

/** The test functions the contract needs; pass vitest's (or any compatible runner's). */
export interface ContractRunner {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeout?: number): void;
  beforeEach(fn: () => Promise<void>): void;
  afterEach(fn: () => Promise<void>): void;
}

export interface ContractOptions {
  /** Size of the large streamed blob; adapters with multipart uploads should pass > 2 parts. */
  largeSize?: number;
}

/** Adds a store's results to a failure message so contract failures say which adapter broke. */
function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`BlobStore contract: ${what}`);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function collect(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const b of it) keys.push(b.key);
  return keys.sort();
}

/**
 * The behaviour every BlobStore adapter must have. Call it from a test file with a factory
 * that makes a fresh, empty store, and a cleanup.
 */
export function blobStoreContract(
  t: ContractRunner,
  name: string,
  make: () => Promise<{ store: BlobStore; cleanup?: () => Promise<void> }>,
  options: ContractOptions = {},
): void {
  const largeSize = options.largeSize ?? 12 * 1024 * 1024 + 12345;
  t.describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: (() => Promise<void>) | undefined;
    t.beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    t.afterEach(async () => {
      await cleanup?.();
    });

    t.it('puts a buffer and gets the same bytes back, with stat', async () => {
      const info = await store.put('a/b/c.bin', Buffer.from('hello'));
      check(info.size === 5, `put reported size ${info.size}, want 5`);
      check((await readAll(await store.get('a/b/c.bin'))).toString() === 'hello', 'get returned other bytes');
      check((await store.stat('a/b/c.bin'))?.size === 5, 'stat size');
    });

    t.it(
      'streams a large body in and out without changing a byte',
      async () => {
        const data = randomBytes(largeSize);
        const chunks = function* () {
          for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
        };
        await store.put('big/blob', Readable.from(chunks()));
        const got = await readAll(await store.get('big/blob'));
        const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
        check(got.length === data.length && sha(got) === sha(data), 'large blob round trip');
        check((await store.stat('big/blob'))?.size === largeSize, 'large blob stat');
      },
      120_000,
    );

    t.it('puts an empty blob', async () => {
      await store.put('empty', Buffer.alloc(0));
      check((await store.stat('empty'))?.size === 0, 'empty blob stat');
      check((await readAll(await store.get('empty'))).length === 0, 'empty blob content');
    });

    t.it('replaces a blob atomically on a second put', async () => {
      await store.put('k', Buffer.from('one'));
      await store.put('k', Buffer.from('two!'));
      check((await readAll(await store.get('k'))).toString() === 'two!', 'second put wins');
    });

    t.it('reports a missing blob as NOT_FOUND on get and undefined on stat', async () => {
      const err = await store.get('nope/missing').then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      check(err?.code === StorageErrorCode.NOT_FOUND, `get of a missing key gave ${err?.code}`);
      check((await store.stat('nope/missing')) === undefined, 'stat of a missing key');
    });

    t.it('lists by prefix, including nested keys, and nothing else', async () => {
      for (const k of ['snapshots/1.json', 'snapshots/2.json', 'snap', 'data/1/x.tar', 'data/10/y.tar', 'data/2/z'])
        await store.put(k, Buffer.from(k));
      check(
        (await collect(store.list('snapshots/'))).join() === 'snapshots/1.json,snapshots/2.json',
        'list snapshots/',
      );
      check((await collect(store.list('data/1'))).join() === 'data/1/x.tar,data/10/y.tar', 'list data/1');
      check((await collect(store.list(''))).length === 6, 'list everything');
      check((await collect(store.list('missing/'))).length === 0, 'list of an absent prefix');
    });

    t.it('deletes, and deleting twice is fine', async () => {
      await store.put('d/x', Buffer.from('x'));
      await store.delete('d/x');
      await store.delete('d/x');
      check((await store.stat('d/x')) === undefined, 'deleted blob still there');
      check((await collect(store.list('d/'))).length === 0, 'deleted blob still listed');
    });

    t.it('leaves nothing visible when the body fails mid-way', async () => {
      async function* failing() {
        yield Buffer.alloc(1 << 20, 1);
        throw new Error('source died');
      }
      await store.put('half', failing()).then(
        () => check(false, 'put of a failing body resolved'),
        () => {},
      );
      check((await store.stat('half')) === undefined, 'a failed put left a blob');
      check((await collect(store.list(''))).length === 0, 'a failed put left something listed');
    });

    t.it('refuses keys that could escape the store', async () => {
      for (const bad of ['../x', '/abs', 'a//b', 'a/./b', '']) {
        const err = await store.put(bad, Buffer.from('x')).then(
          () => undefined,
          (e: unknown) => e as { code?: string },
        );
        check(err?.code === StorageErrorCode.BAD_KEY, `key ${JSON.stringify(bad)} gave ${err?.code}`);
      }
    });
  });
}
