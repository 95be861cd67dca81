import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { Notifier, systemClock } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';
import { HttpChannel } from './support/http-channel.js';
import { type Bench, bench, MINUTE } from './support/setup.js';

let b: Bench;
afterEach(() => b.cleanup());

const P1 = (title: string) => ({ by: 'failover', severity: 'P1' as const, title, message: title });

/** A bench with one P1 message queued to ops-slack, and the pid of a process that has exited. */
async function oneMessage() {
  b = await bench(`
  routes:
    P1: { channels: [ops-slack], within: 0s }
`);
  await b.notifier.report(P1('Claimed'));
  const [record] = await b.records();
  const dead = Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString(),
  );
  return { record: record!, dead };
}

const DAY = 24 * 60 * MINUTE;

/** A P4 test message (its channel and id set by the caller), due now, kept an hour. */
function plain(i: number) {
  return {
    notification: {
      idempotencyKey: `m${i}`,
      kind: 'test' as const,
      severity: 'P4' as const,
      title: `m${i}`,
      text: '',
      incidents: [],
    },
    dueBy: b.clock.now(),
    expireAfterMs: 60 * MINUTE,
    fallback: [],
  };
}

/** The outbox's documents (segments) in the state store. */
async function documents(): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of b.store.list('outbox/')) keys.push(entry.key);
  return keys;
}

describe('the durable outbox', () => {
  it('retries a 429 with Retry-After: 2 after 2 s, not before, and holds the whole channel meanwhile', async () => {
    b = await bench(`
  routes:
    P1: { channels: [ops-slack], within: 0s }
`);
    b.receiver.answer = (_, nth) => (nth === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 });
    const t0 = b.clock.now();
    await b.notifier.report(P1('first'));
    expect(await b.notifier.deliver()).toMatchObject({ delivered: 0, retrying: 1 });
    expect(b.receiver.refused).toHaveLength(1);
    // Another message to the same channel may not slip in during the wait either.
    await b.notifier.report(P1('second'));
    b.clock.set(t0 + 1999);
    expect(await b.notifier.deliver()).toMatchObject({ delivered: 0, waiting: 2, nextAttemptAt: t0 + 2000 });
    expect(b.receiver.refused).toHaveLength(1);
    expect(b.got('ops-slack')).toEqual([]);
    b.clock.set(t0 + 2000);
    expect(await b.notifier.deliver()).toMatchObject({ delivered: 2 });
    expect(
      b
        .got('ops-slack')
        .map((m) => m.title)
        .sort(),
    ).toEqual(['P1 opened: first', 'P1 opened: second']);
    const first = (await b.records()).find((r) => r.notification.title === 'P1 opened: first');
    expect(first).toMatchObject({
      state: 'delivered',
      attempts: 2,
      deliveredAt: new Date(t0 + 2000).toISOString(),
      lastError: expect.stringContaining('HTTP 429'),
    });
  });

  it('delivers every message once a receiver that was down for 10 minutes is back, without hammering it', async () => {
    b = await bench(`
  routes:
    P1: { channels: [ops-slack, hook], within: 0s }
`);
    await b.receiver.down();
    const t0 = b.clock.now();
    const attemptsWhileDown: number[] = [];
    const titles = ['a', 'b', 'c', 'd', 'e'];
    for (const title of titles) await b.notifier.report(P1(title));
    // A flush every 10 s of simulated time, as a daemon would run it.
    for (; b.clock.now() < t0 + 10 * MINUTE; b.clock.advance(10_000)) {
      const report = await b.notifier.deliver();
      attemptsWhileDown.push(report.retrying);
      expect(report.delivered).toBe(0);
    }
    await b.receiver.up();
    let back = b.clock.now();
    for (; (await b.notifier.status()).counts.pending > 0; b.clock.advance(10_000)) {
      await b.notifier.deliver();
      back = b.clock.now();
    }
    // Each exactly once (messages about different incidents may arrive in any order).
    for (const channel of ['ops-slack', 'hook'])
      expect(
        b
          .got(channel)
          .map((m) => m.title)
          .sort(),
      ).toEqual(titles.map((t) => `P1 opened: ${t}`));
    // Backoff doubles up to 5 minutes: at most ~5 minutes to notice the receiver is back.
    expect(back - (t0 + 10 * MINUTE)).toBeLessThanOrEqual(5 * MINUTE + 10_000);
    // A failing channel is probed with one message at a time, less and less often (backoff to 5 min), not flooded.
    expect(attemptsWhileDown[0]).toBe(10);
    expect(Math.max(...attemptsWhileDown.slice(1))).toBeLessThanOrEqual(2);
    expect(attemptsWhileDown.slice(1).reduce((a, n) => a + n)).toBeLessThanOrEqual(2 * 9);
    const status = await b.notifier.status();
    expect(status.counts).toEqual({ pending: 0, delivered: 10, failed: 0, expired: 0 });
    // Every message missed its deadline (due at once): status says so.
    expect(status.late).toHaveLength(10);
  });

  it('reports a permanent failure on the route’s other channels, and to the log when there is none', async () => {
    b = await bench(`
  routes:
    P1: { channels: [pager, ops-slack], within: 0s }
    P2: { channels: [pager], within: 15m }
`);
    b.receiver.answer = (request) => (request.path === '/pager' ? { status: 400 } : { status: 200 });
    await b.notifier.report(P1('Primary lost'));
    expect(await b.notifier.deliver()).toMatchObject({ delivered: 1, failed: 1 });
    await b.notifier.deliver();
    expect(b.got('ops-slack').map((m) => [m.kind, m.title])).toEqual([
      ['opened', 'P1 opened: Primary lost'],
      ['undeliverable', 'Could not deliver to pager: P1 opened: Primary lost'],
    ]);
    await b.notifier.report({ ...P1('Backups late'), severity: 'P2' });
    expect(await b.notifier.deliver()).toMatchObject({ failed: 1 });
    expect(b.log).toEqual([
      `drkit notify: could not deliver "P2 opened: Backups late" to pager: HTTP 400 from ${b.receiver.url}/pager`,
    ]);
    expect((await b.notifier.status()).undelivered.map((r) => r.state)).toEqual(['failed', 'failed']);
  });

  it('gives up a message past its deadline + expire_after, and reports it', async () => {
    b = await bench(`
  routes:
    P2: { channels: [ops-email, ops-slack], within: 15m, expire_after: 1h }
`);
    b.receiver.answer = (request) => (request.path === '/ops-email' ? { status: 503 } : { status: 200 });
    await b.notifier.report({ ...P1('Backups late'), severity: 'P2' });
    for (let i = 0; i < 8 * 6; i++, b.clock.advance((10 * MINUTE) / 6)) await b.notifier.deliver();
    const email = (await b.records()).find((r) => r.channel === 'ops-email' && r.notification.kind === 'opened');
    expect(email).toMatchObject({ state: 'expired', lastError: expect.stringMatching(/^not delivered by .*HTTP 503/) });
    expect(b.got('ops-slack').map((m) => m.kind)).toEqual(['opened', 'undeliverable']);
  });

  it('keeps one incident’s messages to a channel in order: a resolve never overtakes its open', async () => {
    b = await bench(`
  routes:
    P1: { channels: [ops-slack], within: 0s }
`);
    b.receiver.answer = (_, nth) => (nth === 0 ? { status: 500 } : { status: 200 });
    const { incident } = await b.notifier.report(P1('Flapping'));
    await b.notifier.deliver();
    await b.notifier.resolve(incident!.id, { by: 'ana', message: 'It stopped' });
    const other = await b.notifier.report(P1('Unrelated'));
    for (let i = 0; i < 10; i++, b.clock.advance(5_000)) await b.notifier.deliver();
    const titles = b.got('ops-slack').map((m) => m.title);
    expect(titles.filter((t) => t.endsWith('Flapping'))).toEqual(['P1 opened: Flapping', 'P1 resolved: Flapping']);
    expect(titles).toContain('P1 opened: Unrelated');
    expect(other.incident).toBeDefined();
  });

  it(
    'honours a claim written into the record (an older drkit): a live sender’s is left alone, a dead one’s on ' +
      'this host taken over at once',
    async () => {
      const { record, dead } = await oneMessage();
      const claim = (pid: number) => ({
        ...record,
        attempts: 1,
        sendingSince: record.createdAt,
        claimedBy: { host: hostname(), pid },
        nextAttemptAt: new Date(b.clock.now() + 2 * MINUTE).toISOString(),
      });
      // The record alone in a document named after it, as that drkit wrote it (not in a segment).
      for await (const entry of b.store.list('outbox/')) await b.store.delete(entry.key);
      const key = `outbox/${record.id}`;
      await b.store.put(key, claim(process.ppid));
      expect(await b.notifier.deliver()).toMatchObject({ delivered: 0, waiting: 1 });
      await b.store.put(key, claim(dead));
      expect(await b.notifier.deliver()).toMatchObject({ delivered: 1 });
      expect((await b.records())[0]).toMatchObject({ state: 'delivered', attempts: 2 });
    },
  );

  it(
    'leaves a message claimed in the sending document by a live sender alone, and sends at once one whose ' +
      'sender on this host died',
    async () => {
      const { record, dead } = await oneMessage();
      const claim = (pid: number) => ({
        claims: { [record.id]: { by: { host: hostname(), pid, run: 'other' }, until: b.clock.now() + 2 * MINUTE } },
      });
      await b.store.put('sending', claim(process.ppid));
      expect(await b.notifier.deliver()).toMatchObject({
        delivered: 0,
        waiting: 1,
        nextAttemptAt: b.clock.now() + 2 * MINUTE,
      });
      expect(b.got('ops-slack')).toHaveLength(0);
      await b.store.put('sending', claim(dead));
      expect(await b.notifier.deliver()).toMatchObject({ delivered: 1 });
      expect((await b.records())[0]).toMatchObject({ state: 'delivered', attempts: 1 });
      // The claims of a run leave the document when it ends.
      expect((await b.store.get('sending'))?.value).toEqual({ claims: {} });
    },
  );

  it('two senders delivering one outbox at once send each message once', async () => {
    b = await bench(`
  routes:
    P1: { channels: [ops-slack, hook], within: 0s }
`);
    for (let i = 0; i < 40; i++) await b.notifier.report(P1(`Incident ${i}`));
    const other = new Notifier({
      store: new FolderStateStore(b.dir),
      channels: b.notifier.channels,
      policy: b.notifier.policy,
      clock: b.clock,
      concurrency: 4,
    });
    const [mine, theirs] = await Promise.all([b.notifier.deliver(), other.deliver()]);
    expect(mine.delivered + theirs.delivered).toBe(80);
    for (const channel of ['ops-slack', 'hook']) {
      const keys = b.got(channel).map((m) => m.idempotencyKey);
      expect(new Set(keys).size).toBe(40);
      expect(keys).toHaveLength(40);
    }
    expect((await b.records()).every((r) => r.state === 'delivered' && r.attempts === 1)).toBe(true);
  });

  it(
    'keeps messages queued together in one segment document, and sends a message queued twice (a process killed ' +
      'before its caller noted it queued) once, also when the second copy comes after it was delivered',
    async () => {
      b = await bench();
      const again = () => new Notifier({ store: b.store, channels: b.notifier.channels, clock: b.clock }).outbox;
      const messages = (outbox: typeof b.notifier.outbox) =>
        [0, 1, 2].map((i) => outbox.record({ ...plain(i), channel: 'ops-slack', id: `m${i}.ops-slack` }));
      await b.notifier.outbox.enqueue(messages(b.notifier.outbox));
      expect(await documents()).toHaveLength(1);
      await again().enqueue(messages(b.notifier.outbox));
      expect(await documents()).toHaveLength(2);
      expect(await b.notifier.deliver()).toMatchObject({ delivered: 3 });
      await again().enqueue(messages(b.notifier.outbox));
      expect(await b.notifier.deliver()).toMatchObject({ delivered: 0, waiting: 0 });
      expect(b.got('ops-slack').map((m) => m.idempotencyKey)).toEqual(['m0', 'm1', 'm2']);
      expect((await b.records()).map((r) => [r.id, r.state])).toEqual([
        ['m0.ops-slack', 'delivered'],
        ['m1.ops-slack', 'delivered'],
        ['m2.ops-slack', 'delivered'],
      ]);
    },
  );

  it(
    'starts a new segment at 32 records or 64 KiB, so large messages (digests) are not rewritten 32 at a ' + 'time',
    async () => {
      b = await bench();
      const record = (i: number, text = '') =>
        b.notifier.outbox.record({
          ...plain(i),
          notification: { ...plain(i).notification, text },
          channel: 'ops-slack',
          id: `m${i}.ops-slack`,
        });
      const sizes = async () => {
        const out: number[] = [];
        for await (const entry of b.store.list('outbox/')) {
          const value = (await b.store.get(entry.key))!.value as { records?: unknown[] };
          out.push(value.records?.length ?? 1);
        }
        return out;
      };
      await b.notifier.outbox.enqueue(Array.from({ length: 40 }, (_, i) => record(i)));
      expect(await sizes()).toEqual([32, 8]);
      // 8 small ones share the open segment with the first 40 KB one; each next 40 KB one starts another.
      await b.notifier.outbox.enqueue([40, 41, 42].map((i) => record(i, 'x'.repeat(40_000))));
      expect(await sizes()).toEqual([32, 9, 1, 1]);
      expect(await b.notifier.deliver()).toMatchObject({ delivered: 43 });
    },
  );

  it('removes a segment once every message in it finished 7 days ago, not before', async () => {
    b = await bench();
    const t0 = b.clock.now();
    const [first, second] = [0, 1].map((i) =>
      b.notifier.outbox.record({ ...plain(i), channel: 'ops-slack', id: `m${i}.ops-slack` }),
    );
    await b.notifier.outbox.enqueue([first!, second!]);
    await b.notifier.outbox.deliver({ only: (r) => r.id === first!.id });
    b.clock.set(t0 + DAY);
    await b.notifier.outbox.deliver();
    b.clock.set(t0 + 7 * DAY + MINUTE);
    await b.notifier.outbox.deliver();
    expect((await b.records()).map((r) => r.id)).toEqual(['m0.ops-slack', 'm1.ops-slack']);
    b.clock.set(t0 + 8 * DAY + MINUTE);
    await b.notifier.outbox.deliver();
    expect(await documents()).toEqual([]);
  });

  it('sends at most perChannel messages to one channel at once, and another channel meanwhile', async () => {
    b = await bench(
      `
  routes:
    P1: { channels: [ops-slack], within: 0s }
`,
      { concurrency: 8, perChannel: 2 },
    );
    // ops-slack's requests are held, and so is hook's, until hook's has arrived while both of ops-slack's turns are
    // in use: then all are answered. Whichever arrives first, hook is only answered if it was not kept waiting
    // behind ops-slack's turns (else nothing is ever answered).
    const held: (() => void)[] = [];
    let hook: (() => void) | undefined;
    let open = 0;
    let most = 0;
    let hookWhileHeld = false;
    const releaseWhenBoth = () => {
      if (!hook || open < 2) return;
      hookWhileHeld = true;
      hook();
      for (const release of held.splice(0)) release();
    };
    const server = createServer((req, res) => {
      req.resume().on('end', () => {
        if (req.url !== '/ops-slack') {
          hook = () => res.end('ok');
          return releaseWhenBoth();
        }
        most = Math.max(most, ++open);
        const answer = () => {
          open--;
          res.end('ok');
        };
        if (hookWhileHeld) answer();
        else {
          held.push(answer);
          releaseWhenBoth();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const notifier = new Notifier({
      store: b.store,
      channels: new Map(['ops-slack', 'hook'].map((name) => [name, new HttpChannel(name, `${url}/${name}`)])),
      clock: b.clock,
      concurrency: 8,
      perChannel: 2,
    });
    try {
      const message = (i: number, channel: string) =>
        notifier.outbox.record({ ...plain(i), id: `m${i}.${channel}`, channel });
      // ops-slack's six first, so they take their two turns before hook's message is claimed.
      await notifier.outbox.enqueue([0, 1, 2, 3, 4, 5].map((i) => message(i, 'ops-slack')));
      await notifier.outbox.enqueue([message(6, 'hook')]);
      expect(await notifier.outbox.deliver()).toMatchObject({ delivered: 7 });
      expect(most).toBe(2);
      expect(hookWhileHeld).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends what a process before it queued (a restart loses nothing)', async () => {
    b = await bench();
    await b.notifier.report(P1('Queued then the process died'));
    const next = new Notifier({
      store: b.store,
      channels: b.notifier.channels,
      policy: b.notifier.policy,
      clock: b.clock,
    });
    expect(await next.deliver()).toMatchObject({ delivered: 4 });
    expect(b.got('phone')).toHaveLength(1);
  });
});

describe('the wiring on the real clock', () => {
  it('sends a digest when its second-long window closes, during flush --wait', async () => {
    b = await bench(
      `
  routes:
    P3: { channels: [ops-slack], within: 1s }
`,
      { clock: systemClock },
    );
    const start = Date.now();
    await b.notifier.report({ ...P1('a'), severity: 'P3' });
    await b.notifier.report({ ...P1('b'), severity: 'P3' });
    const report = await b.notifier.flush({ waitMs: 5_000 });
    expect(report).toMatchObject({ delivered: 1, pending: 0 });
    expect(b.got('ops-slack').map((m) => m.incidents.length)).toEqual([2]);
    const [record] = await b.records();
    expect(Date.parse(record!.deliveredAt!) - start).toBeGreaterThanOrEqual(1000);
    // It returned once nothing was left to wait for, not after the whole 5 s.
    expect(Date.now() - start).toBeLessThan(4_500);
  });
});
