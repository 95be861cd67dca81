import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { codeOf, runChild, type StateContractRunner } from './contract-tools.js';
import { StateErrorCode } from './errors.js';
import { type StateEntry, type StateStore, updateEntry } from './store.js';

export type { StateContractRunner } from './contract-tools.js';

export interface StateContractOptions {
  /** Conditional increments per process in the two-process test. */
  increments?: number;
}

/** Says which adapter broke and how. */
function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`StateStore contract: ${what}`);
}

async function keysOf(store: StateStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of store.list(prefix)) keys.push(entry.key);
  return keys;
}

const CHILD = fileURLToPath(new URL('./contract-child.js', import.meta.url));

/** Runs contract-child.js; `onLine` sees each line it prints and may kill it. */
const child = (args: string[], onLine?: (line: string, kill: () => void) => void) => runChild(CHILD, args, onLine);

/**
 * The behaviour every StateStore adapter must have. `make` gives a fresh, empty store and its
 * `location` (what `openStateStore` takes), which the cross-process tests open in child processes.
 */
export function stateStoreContract(
  t: StateContractRunner,
  name: string,
  make: () => Promise<{ store: StateStore; location: string; cleanup?: () => Promise<void> }>,
  options: StateContractOptions = {},
): void {
  const increments = options.increments ?? 40;
  t.describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    let location: string;
    let cleanup: (() => Promise<void>) | undefined;
    t.beforeEach(async () => {
      ({ store, location, cleanup } = await make());
    });
    t.afterEach(async () => {
      await store.close();
      await cleanup?.();
    });

    t.it('puts a document and reads it back, each write one revision more', async () => {
      const first = await store.put('incidents/a', { title: 'disk full', n: 1 });
      check(first.revision === 1 && first.key === 'incidents/a', `first put gave revision ${first.revision}`);
      check(!Number.isNaN(Date.parse(first.updatedAt)), 'updatedAt is an ISO time');
      const second = await store.put('incidents/a', { title: 'disk full', n: 2 });
      check(second.revision === 2, `second put gave revision ${second.revision}`);
      const got = await store.get<{ n: number }>('incidents/a');
      check(
        got?.revision === 2 && got.value.n === 2 && got.updatedAt === second.updatedAt,
        `get gave ${JSON.stringify(got)}`,
      );
      check((await store.get('incidents/missing')) === undefined, 'get of a missing key is undefined');
    });

    t.it(
      'writes with ifRevision only at that revision (0: only a new key), else STATE_CONFLICT changing nothing',
      async () => {
        await store.put('k', 'one', { ifRevision: 0 });
        check(
          (await codeOf(() => store.put('k', 'again', { ifRevision: 0 }))) === StateErrorCode.CONFLICT,
          'ifRevision 0 on an existing key',
        );
        await store.put('k', 'two', { ifRevision: 1 });
        check(
          (await codeOf(() => store.put('k', 'stale', { ifRevision: 1 }))) === StateErrorCode.CONFLICT,
          'a stale ifRevision',
        );
        check(
          (await codeOf(() => store.put('new', 'x', { ifRevision: 3 }))) === StateErrorCode.CONFLICT,
          'ifRevision 3 on a missing key',
        );
        const got = await store.get('k');
        check(got?.value === 'two' && got.revision === 2, `after conflicts: ${JSON.stringify(got)}`);
        check((await store.get('new')) === undefined, 'a refused write created the key');
      },
    );

    t.it('deletes, conditionally too; a key written again after a delete starts at revision 1', async () => {
      await store.put('d/x', { a: 1 });
      await store.put('d/x', { a: 2 });
      check(
        (await codeOf(() => store.delete('d/x', { ifRevision: 1 }))) === StateErrorCode.CONFLICT,
        'delete with a stale revision',
      );
      check((await store.get('d/x'))?.revision === 2, 'a refused delete removed the key');
      check((await store.delete('d/x', { ifRevision: 2 })) === true, 'delete of an existing key is true');
      check((await store.delete('d/x')) === false, 'delete of a missing key is false');
      check((await store.get('d/x')) === undefined, 'deleted key still readable');
      check((await keysOf(store, 'd/')).length === 0, 'deleted key still listed');
      check((await store.put('d/x', { a: 3 }, { ifRevision: 0 })).revision === 1, 'revision after delete');
    });

    t.it(
      'lists by prefix in key order: nested keys, a key that is also a folder, a prefix that ends mid-segment',
      async () => {
        const keys = [
          'outbox/b',
          'outbox/a',
          'outbox/a/1',
          'outbox/ab',
          'outboxes',
          'incidents/z',
          'a.b',
          'x.json.y',
          '.hidden',
        ];
        for (const key of keys) await store.put(key, { key });
        const listed: StateEntry<{ key: string }>[] = [];
        for await (const entry of store.list<{ key: string }>('outbox/')) listed.push(entry);
        check(
          listed.map((e) => e.key).join() === 'outbox/a,outbox/a/1,outbox/ab,outbox/b',
          `list outbox/ gave ${listed.map((e) => e.key).join()}`,
        );
        check(
          listed.every((e) => e.value.key === e.key && e.revision === 1),
          'list values',
        );
        check((await keysOf(store, 'outbox/a')).join() === 'outbox/a,outbox/a/1,outbox/ab', 'list outbox/a');
        check(
          (await keysOf(store, 'outbox')).join() === 'outbox/a,outbox/a/1,outbox/ab,outbox/b,outboxes',
          'list outbox',
        );
        check(
          (await keysOf(store, '')).join() === [...keys].sort().join(),
          `list everything gave ${(await keysOf(store, '')).join()}`,
        );
        check((await keysOf(store, 'nothing/')).length === 0, 'list of an absent prefix');
      },
    );

    t.it(
      'refuses keys outside the grammar (STATE_BAD_KEY) and values that are not JSON (STATE_BAD_VALUE)',
      async () => {
        for (const bad of ['../x', '/abs', 'a//b', 'a/./b', '', 'a/', 'x.json', 'x.lock/y', 'sp ace'])
          check(
            (await codeOf(() => store.put(bad, 1))) === StateErrorCode.BAD_KEY,
            `put of key ${JSON.stringify(bad)}`,
          );
        check((await codeOf(() => store.get('../x'))) === StateErrorCode.BAD_KEY, 'get of a bad key');
        check((await codeOf(async () => keysOf(store, '../'))) === StateErrorCode.BAD_KEY, 'list of a bad prefix');
        check((await codeOf(() => store.put('v', undefined))) === StateErrorCode.BAD_VALUE, 'put of undefined');
      },
    );

    t.it('round-trips JSON values as written', async () => {
      const values = [
        null,
        0,
        -1.5,
        'text with "quotes", \\ and \n',
        'ünïcödé 日本語 ☕',
        [1, [2, { a: null }]],
        { nested: { deep: [true, false] }, empty: {}, list: [] },
      ];
      for (const [i, value] of values.entries()) await store.put(`v/${i}`, value);
      for (const [i, value] of values.entries())
        check(JSON.stringify((await store.get(`v/${i}`))?.value) === JSON.stringify(value), `value ${i}`);
    });

    t.it('loses no update when one process runs updateEntry 50 times at once', async () => {
      await Promise.all(
        Array.from({ length: 50 }, () => updateEntry<number>(store, 'counter', (n) => (n ?? 0) + 1, 1000)),
      );
      const got = await store.get<number>('counter');
      check(got?.value === 50 && got.revision === 50, `counter ${JSON.stringify(got)}`);
    });

    t.it(
      'loses no update when two processes increment one key with conditional writes',
      async () => {
        const runs = await Promise.all([
          child(['increment', location, 'shared/counter', String(increments)]),
          child(['increment', location, 'shared/counter', String(increments)]),
        ]);
        for (const run of runs) check(run.code === 0, `child failed: ${run.stderr}`);
        const got = await store.get<{ n: number; by: string[] }>('shared/counter');
        check(got?.value.n === 2 * increments, `counter reached ${got?.value.n}, want ${2 * increments}`);
        check(
          new Set(got?.value.by).size === 2 * increments && got?.revision === 2 * increments,
          'every increment recorded once',
        );
      },
      120_000,
    );

    t.it(
      'keeps the old or the new document when a writer is killed (SIGKILL) mid-write, and the key stays writable',
      async () => {
        for (let round = 0; round < 3; round++) {
          let reported = 0;
          // Killed as soon as it says a write is done: it is then writing the next one.
          const run = await child(['churn', location, 'crash/doc'], (line, kill) => {
            reported = Number(line.split(' ')[1]);
            if (reported >= 2 + round) kill();
          });
          check(run.signal === 'SIGKILL', `churn child ended with ${run.code} ${run.stderr}`);
          const got = await store.get<{ seq: number; payload: string; sha256: string }>('crash/doc');
          check(
            got !== undefined && got.value.seq >= reported,
            `after the kill the key holds ${got?.value.seq}, the child had written ${reported}`,
          );
          check(
            createHash('sha256').update(got!.value.payload).digest('hex') === got!.value.sha256,
            'the document is whole',
          );
          const next = await store.put(
            'crash/doc',
            { seq: 0, payload: '', sha256: createHash('sha256').update('').digest('hex') },
            { ifRevision: got!.revision },
          );
          check(next.revision === got!.revision + 1, 'a conditional write after the kill');
        }
      },
      120_000,
    );
  });
}
