import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TRIGGERS, Failover, type FailoverSettings } from '@drkit/failover';
import { Notifier } from '@drkit/notify';
import { FolderStateStore, type LeaseBackendOptions, openLeaseBackend, type StateStore } from '@drkit/state';
import {
  type RunningEtcd,
  type RunningRedis,
  startEtcd,
  startRecordingServer,
  startRedis,
  tempDir,
} from '@drkit/test-support';
import { fakeClock, startService, type TestService } from './service.js';

let dir: string;
let cleanup: () => Promise<void>;
let primary: TestService;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-failover-'));
  primary = await startService();
});
afterEach(async () => {
  await primary.close();
  await cleanup();
});

function settings(over: Partial<FailoverSettings> = {}): FailoverSettings {
  return {
    site: 'app',
    primary: { probes: [{ type: 'http', url: primary.url, intervalMs: 10_000, timeoutMs: 300 }] },
    standby: { probes: [] },
    triggers: DEFAULT_TRIGGERS,
    monitors: [],
    quorum: 1,
    quorumWithinMs: 60_000,
    lease: { backend: 'file', path: path.join(dir, 'leases'), ttlMs: 5_000 },
    cooldownMs: 3_600_000,
    maxPerDay: 1,
    steps: [
      {
        kind: 'activate',
        command: `echo "$DRKIT_FAILOVER_EPOCH $DRKIT_FAILOVER_REASON" >> ${path.join(dir, 'activated')}`,
      },
    ],
    ...over,
  };
}

const activations = async () =>
  (await readFile(path.join(dir, 'activated'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

describe('the monitor loop on a fake clock', () => {
  it(
    'fails over once when the primary has been down 5 minutes, hands the epoch and reason to the hook, and ' +
      'then holds (cooldown)',
    async () => {
      const clock = fakeClock();
      const store = new FolderStateStore(path.join(dir, 'state'));
      const notifier = new Notifier({ store, clock });
      const f = new Failover(settings(), {
        store,
        leases: await openLeaseBackend(settings().lease),
        clock,
        monitor: 'm1',
        notifier,
      });
      const states: string[] = [];
      const tick = async () => {
        const t = await f.tick();
        if (states.at(-1) !== t.state) states.push(t.state);
        clock.advance(10_000);
      };
      for (let i = 0; i < 3; i++) await tick();
      primary.mode = 'down';
      for (let i = 0; i < 30; i++) await tick(); // 0 … 4m50s down
      expect(await activations()).toEqual([]);
      await tick(); // 5 min
      expect(states).toEqual(['healthy', 'degraded', 'failed_over']);
      expect(await activations()).toEqual([expect.stringMatching(/^1 unreachable for 5 min/)]);
      const status = await f.status();
      expect(status).toMatchObject({
        state: 'failed_over',
        epoch: 1,
        run: { outcome: 'done', trigger: 'automatic', steps: [{ step: '1 activate', status: 'ok', epoch: 1 }] },
      });
      // Every transition is a line on the site's one incident, raised to P1 when failing over. (A step is timed in
      // real time, the sequence on the fake clock.)
      const [incident] = await notifier.list();
      expect(incident).toMatchObject({ severity: 'P1', title: 'Failover of site app' });
      expect(incident!.timeline.map((e) => e.message.replace(/:.*/, ''))).toEqual([
        'The primary of site app is degraded (was healthy)',
        'The primary of site app is failing (was degraded)',
        'Failing over site app (automatic',
        expect.stringMatching(/^step 1 activate ok in \d+\.\d s$/),
        'Site app failed over (epoch 1) in 0.0 s. Watch it closely for 24 hours; fail back by hand.',
      ]);
      // Failed back by hand while the primary is still down: failing again, but the cooldown holds it.
      await f.failback('test');
      for (let i = 0; i < 3; i++) await tick();
      expect((await f.status()).state).toBe('failing');
      expect((await f.status()).held).toMatch(/^in cooldown until /);
      expect(await activations()).toHaveLength(1);
    },
  );

  it('pause holds an automatic failover; resume lets it go; the daily cap holds the next', async () => {
    const clock = fakeClock();
    const store = new FolderStateStore(path.join(dir, 'state'));
    const f = new Failover(
      settings({ cooldownMs: 60_000, triggers: { ...DEFAULT_TRIGGERS, unreachableForMs: 20_000 } }),
      { store, leases: await openLeaseBackend(settings().lease), clock, monitor: 'm1' },
    );
    primary.mode = 'down';
    await f.setPaused(true);
    for (let i = 0; i < 5; i++) {
      await f.tick();
      clock.advance(10_000);
    }
    expect(await f.status()).toMatchObject({ state: 'failing', paused: true, held: 'paused (drkit failover resume)' });
    await f.setPaused(false);
    expect((await f.tick()).state).toBe('failed_over');
    await f.failback('test');
    clock.advance(120_000); // past the cooldown, within the day
    await f.tick();
    expect((await f.status()).held).toBe('1 automatic failover(s) in the last 24 h (the daily cap)');
    expect(await activations()).toHaveLength(1);
  });
});

describe('a failed step', () => {
  it('stops the sequence, keeps the lease, pages P1 once, and the status says where it stopped', async () => {
    const store = new FolderStateStore(path.join(dir, 'state'));
    const leases = await openLeaseBackend(settings().lease);
    const notifier = new Notifier({ store });
    const f = new Failover(
      settings({
        standby: { probes: [{ type: 'tcp', host: '127.0.0.1', port: primary.port, timeoutMs: 200 }] },
        steps: [
          settings().steps[0]!,
          { kind: 'verify', forMs: 1_000, timeoutMs: 500 },
          { kind: 'dns', command: 'true' },
        ],
      }),
      { store, leases, notifier, monitor: 'm1' },
    );
    await primary.close();
    const run = (await f.failover('manual', 'drill'))!;
    expect(run).toMatchObject({
      outcome: 'failed',
      steps: [
        { status: 'ok' },
        { step: '2 verify', status: 'failed', detail: expect.stringContaining('did not finish within 0.5 s') },
        { step: '3 dns', status: 'not_run' },
      ],
    });
    expect(await f.status()).toMatchObject({ state: 'failing_over', lease: { epoch: 1 }, run: { outcome: 'failed' } });
    const [incident] = await notifier.list();
    expect(incident).toMatchObject({ severity: 'P1', status: expect.not.stringMatching('resolved') });
    const stopped = incident!.timeline.filter((e) => e.message.includes('STOPPED'));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]!.message).toContain('Done: 1 activate. Not run: 3 dns.');
    await leases.close();
  });
});

describe('several monitors, one actor', () => {
  let etcd: RunningEtcd;
  let redis: RunningRedis;
  beforeAll(async () => {
    [etcd, redis] = await Promise.all([startEtcd(), startRedis()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([etcd?.stop(), redis?.stop()]);
  });

  it('a holder whose lease passes to another (a stalled zombie) stops at once: its step is killed and nothing ' +
    'after it runs', async () => {
    const store = new FolderStateStore(path.join(dir, 'state'));
    const lease = { backend: 'redis' as const, url: redis.url };
    const marker = path.join(dir, 'dns-ran');
    const f = new Failover(
      settings({
        site: 'zombie',
        lease: { ...lease, ttlMs: 1_500 },
        steps: [
          { kind: 'activate', command: 'sleep 5' },
          { kind: 'dns', command: `touch ${marker}` },
        ],
      }),
      { store, leases: await openLeaseBackend(lease), monitor: 'm1' },
    );
    const running = f.failover('manual', 'drill');
    // While its activate step runs, the lease is taken from it (as if it had stalled past its TTL).
    const other = await openLeaseBackend(lease);
    for (;;) {
      const held = await other.current('failover/zombie');
      if (held) {
        await redis.client().del('{drkit-lease:failover/zombie}');
        expect((await other.acquire('failover/zombie', 'm2', 10_000))!.epoch).toBe(held.epoch + 1);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await expect(running).rejects.toMatchObject({ code: 'STATE_LEASE_LOST' });
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await f.status()).run!.steps.map((st) => st.status)).toEqual(['running', 'not_run']);
    await other.close();
  }, 30_000);

  const backends: [string, () => LeaseBackendOptions][] = [
    ['etcd', () => ({ backend: 'etcd', endpoints: [etcd.endpoint] })],
    ['Redis', () => ({ backend: 'redis', url: redis.url })],
  ];
  for (const [name, backend] of backends)
    for (const count of [2, 3])
      it(`${count} monitors over ${name} leases racing with jittered starts: exactly one activation per ` +
        `failover, 10 times`, async () => {
        const store: StateStore = new FolderStateStore(path.join(dir, 'state'));
        const site = `race-${count}-${name.toLowerCase()}`;
        const monitors = await Promise.all(
          Array.from(
            { length: count },
            async (_, i) =>
              new Failover(settings({ site, lease: { ...backend(), ttlMs: 5_000 } }), {
                store,
                leases: await openLeaseBackend(backend()),
                monitor: `m${i}`,
              }),
          ),
        );
        for (let round = 1; round <= 10; round++) {
          await store.put(`failover/${site}/site`, {
            state: 'failing',
            since: new Date().toISOString(),
            epoch: 0,
            paused: false,
            automatic: [],
          });
          const runs = await Promise.all(
            monitors.map(async (m) => {
              await new Promise((r) => setTimeout(r, Math.random() * 20));
              return m.failover('automatic', `round ${round}`);
            }),
          );
          expect(runs.filter(Boolean)).toHaveLength(1);
          expect((await activations()).filter((l) => l.endsWith(`round ${round}`))).toHaveLength(1);
        }
        const epochs = (await activations()).map((l) => Number(l.split(' ')[0]));
        expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
        expect(new Set(epochs).size).toBe(10);
        await writeFile(path.join(dir, 'activated'), '');
        await rm(path.join(dir, 'state'), { recursive: true, force: true });
      }, 60_000);
});

describe('a monitor stopped mid-sequence', () => {
  it(
    'aborts the step, releases the lease at once and leaves the run running; the next monitor resumes it ' +
      'under a higher epoch',
    async () => {
      const hook = await startRecordingServer({ answer: { hang: true } });
      try {
        const clock = fakeClock();
        const store = new FolderStateStore(path.join(dir, 'state'));
        const s = settings({
          lease: { backend: 'file', path: path.join(dir, 'leases'), ttlMs: 600_000 },
          steps: [{ kind: 'dns', webhook: `${hook.url}/switch` }],
        });
        const leases = await openLeaseBackend(s.lease);
        const m1 = new Failover(s, { store, leases, clock, monitor: 'm1' });
        for (let i = 0; i < 3; i++) await m1.tick().then(() => clock.advance(10_000));
        primary.mode = 'down';
        for (let i = 0; i < 30; i++) await m1.tick().then(() => clock.advance(10_000));
        const stop = new AbortController();
        const acting = m1.tick(stop.signal);
        await hook.waitForRequests(1);
        expect(await leases.current('failover/app')).toMatchObject({
          epoch: 1,
          holder: expect.stringMatching(/^m1\//),
        });
        stop.abort();
        expect((await acting).state).toBe('failing_over');
        // Released, not left to its 10-minute TTL; the run says which step to resume.
        expect(await leases.current('failover/app')).toBeUndefined();
        expect((await m1.status()).run).toMatchObject({
          epoch: 1,
          outcome: 'running',
          steps: [{ step: '1 dns', status: 'running' }],
        });

        hook.answer(undefined);
        const m2 = new Failover(s, { store, leases, clock, monitor: 'm2' });
        expect((await m2.tick()).acted).toMatchObject({
          epoch: 2,
          outcome: 'done',
          steps: [{ step: '1 dns', status: 'ok', epoch: 2 }],
        });
        expect(hook.requests.map((r) => r.json().epoch)).toEqual([1, 2]);
        await leases.close();
      } finally {
        await hook.stop();
      }
    },
  );
});
