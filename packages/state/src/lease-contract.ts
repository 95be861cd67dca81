import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeOf, runChild, type StateContractRunner } from './contract-tools.js';
import { StateErrorCode } from './errors.js';
import { type Lease, type LeaseBackend, type LeaseBackendOptions, leaseHolderId } from './lease.js';
import { openLeaseBackend } from './open-lease.js';

export interface LeaseContractOptions {
  /** The short TTL the tests use (etcd counts whole seconds: at least 1000). */
  ttlMs?: number;
  /** Leases each of the two racing processes must take. */
  holds?: number;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`LeaseBackend contract: ${what}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHILD = fileURLToPath(new URL('./lease-child.js', import.meta.url));

/** Polls `acquire` until it grants the lease (a lapse is the backend's to decide, by its clock). */
async function acquireWhenFree(backend: LeaseBackend, name: string, ttlMs: number, withinMs: number): Promise<Lease> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const lease = await backend.acquire(name, leaseHolderId(), ttlMs);
    if (lease) return lease;
    check(Date.now() < deadline, `the lease ${name} was not free ${withinMs} ms later`);
    await sleep(25);
  }
}

/**
 * The behaviour every LeaseBackend must have. `make` gives a fresh backend and the options that
 * open another connection to the same leases (`openLeaseBackend`): a second monitor, in this
 * process or in child processes.
 */
export function leaseBackendContract(
  t: StateContractRunner,
  name: string,
  make: () => Promise<{ backend: LeaseBackend; options: LeaseBackendOptions; cleanup?: () => Promise<void> }>,
  contractOptions: LeaseContractOptions = {},
): void {
  const ttl = contractOptions.ttlMs ?? 1000;
  const holds = contractOptions.holds ?? 15;
  t.describe(`LeaseBackend contract: ${name}`, () => {
    let a: LeaseBackend;
    let b: LeaseBackend;
    let options: LeaseBackendOptions;
    let cleanup: (() => Promise<void>) | undefined;
    t.beforeEach(async () => {
      ({ backend: a, options, cleanup } = await make());
      b = await openLeaseBackend(options);
    });
    t.afterEach(async () => {
      await a.close();
      await b.close();
      await cleanup?.();
    });

    t.it('grants a free lease to one holder at a time; acquiring it again renews it under the same epoch', async () => {
      const mine = await a.acquire('jobs/hourly', 'holder-a', 10 * ttl);
      check(
        mine !== undefined && mine.holder === 'holder-a' && mine.epoch >= 1 && mine.expiresAt > Date.now(),
        `first acquire gave ${JSON.stringify(mine)}`,
      );
      check((await b.acquire('jobs/hourly', 'holder-b', 10 * ttl)) === undefined, 'a second holder got a held lease');
      const again = await a.acquire('jobs/hourly', 'holder-a', 10 * ttl);
      check(again?.epoch === mine!.epoch, `acquiring a held lease again changed its epoch: ${JSON.stringify(again)}`);
      const seen = await b.current('jobs/hourly');
      check(seen?.holder === 'holder-a' && seen.epoch === mine!.epoch, `current gave ${JSON.stringify(seen)}`);
      check((await b.current('jobs/other')) === undefined, 'current of a lease never taken');
      check(
        (await b.acquire('jobs/other', 'holder-b', 10 * ttl))?.holder === 'holder-b',
        'another name is another lease',
      );
    });

    t.it(
      'renew extends a lease past its first TTL, and nobody else gets it meanwhile',
      async () => {
        const start = Date.now();
        const lease = (await a.acquire('site', 'holder-a', ttl))!;
        const renewed = await a.renew(lease, 4 * ttl);
        check(
          renewed.epoch === lease.epoch && renewed.expiresAt >= start + 4 * ttl,
          `renew gave ${JSON.stringify(renewed)}`,
        );
        await sleep(start + ttl + 300 - Date.now());
        check(
          (await b.acquire('site', 'holder-b', ttl)) === undefined,
          'the lease lapsed at its first TTL after a renewal',
        );
        check((await b.current('site'))?.holder === 'holder-a', 'current after renewal');
        check((await a.renew(renewed, ttl)).epoch === lease.epoch, 'a second renewal');
      },
      30_000,
    );

    t.it(
      'lapses after its TTL; the next holder gets a higher epoch and the old one is STATE_LEASE_LOST',
      async () => {
        const start = Date.now();
        const old = (await a.acquire('site', 'holder-a', ttl))!;
        const next = await acquireWhenFree(b, 'site', 10 * ttl, ttl + 10_000);
        // 50 ms: the granularity of a server's expiry check against this process's clock.
        check(
          Date.now() >= start + ttl - 50,
          `taken over ${Date.now() - start} ms after a ${ttl} ms lease was granted`,
        );
        check(next.epoch > old.epoch, `epoch ${next.epoch} after ${old.epoch}`);
        check(
          (await codeOf(() => a.renew(old, ttl))) === StateErrorCode.LEASE_LOST,
          'renew of a lapsed lease taken over',
        );
        await a.release(old);
        check((await b.current('site'))?.epoch === next.epoch, 'release of a lapsed lease removed its successor');
        check((await a.acquire('site', 'holder-a', ttl)) === undefined, 'the old holder took it back while held');
      },
      30_000,
    );

    t.it(
      'release frees it at once for the next holder, with the next epoch; the released lease is STATE_LEASE_LOST',
      async () => {
        const first = (await a.acquire('slot', 'holder-a', 10 * ttl))!;
        await a.release(first);
        check((await b.current('slot')) === undefined, 'current after release');
        const second = await b.acquire('slot', 'holder-b', 10 * ttl);
        check(
          second?.epoch === first.epoch + 1,
          `after release: ${JSON.stringify(second)} (first epoch ${first.epoch})`,
        );
        check((await codeOf(() => a.renew(first, ttl))) === StateErrorCode.LEASE_LOST, 'renew after release');
        await b.release(second!);
        check(
          (await a.acquire('slot', 'holder-a', ttl))?.epoch === first.epoch + 2,
          'the epoch after a second release',
        );
      },
    );

    t.it('refuses a bad name (STATE_BAD_KEY) and a TTL that is not whole milliseconds (STATE_BAD_LEASE)', async () => {
      check((await codeOf(() => a.acquire('../x', 'h', ttl))) === StateErrorCode.BAD_KEY, 'a bad name');
      for (const bad of [0, -5, 1.5, Number.NaN])
        check((await codeOf(() => a.acquire('x', 'h', bad))) === StateErrorCode.BAD_LEASE, `TTL ${bad}`);
    });

    t.it(
      `two processes racing for one lease with jittered starts never both hold it (${holds} holds each)`,
      async () => {
        const dir = await mkdtemp(path.join(tmpdir(), 'drkit-lease-race-'));
        try {
          const log = path.join(dir, 'holds.log');
          const args = ['race', JSON.stringify(options), 'race', String(10 * ttl), String(holds), log];
          const runs = await Promise.all([runChild(CHILD, args), runChild(CHILD, args)]);
          for (const run of runs) check(run.code === 0, `race child failed: ${run.stderr}`);
          const lines = (await readFile(log, 'utf8')).trim().split('\n');
          check(lines.length === 4 * holds, `${lines.length} lines for ${2 * holds} holds`);
          let last = 0;
          for (let i = 0; i < lines.length; i += 2) {
            const [start, end] = [lines[i]!.split(' '), lines[i + 1]!.split(' ')];
            check(
              start[0] === 'start' && end[0] === 'end' && start[1] === end[1] && start[2] === end[2],
              `two holders at once: ${lines[i]} / ${lines[i + 1]}`,
            );
            check(Number(start[1]) > last, `epoch ${start[1]} after ${last}`);
            last = Number(start[1]);
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
      120_000,
    );

    t.it(
      'a holder killed with SIGKILL keeps its lease until the TTL, then another takes over with a higher epoch',
      async () => {
        const longer = 3 * ttl;
        let epoch = 0;
        const run = await runChild(CHILD, ['hold', JSON.stringify(options), 'site', String(longer)], (line, kill) => {
          epoch = Number(line.split(' ')[1]);
          kill();
        });
        check(run.signal === 'SIGKILL' && epoch >= 1, `hold child ended with ${run.code}: ${run.stderr}`);
        check(
          (await b.acquire('site', 'holder-b', ttl)) === undefined,
          'the lease of a killed holder was free before its TTL',
        );
        const next = await acquireWhenFree(b, 'site', ttl, longer + 10_000);
        check(next.epoch > epoch, `epoch ${next.epoch} after the killed holder's ${epoch}`);
      },
      60_000,
    );
  });
}
