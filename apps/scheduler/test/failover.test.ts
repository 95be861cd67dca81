import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeTree, type RecordingServer, startRecordingServer } from '@drkit/test-support';
import { afterEach, expect, it } from 'vitest';
import { DRKIT_MAIN, eventually, type RunningDaemon, run, startDaemon, workspace } from './daemon.js';

// The daemon hosts `drkit failover monitor`'s loop when failover: is configured. Real HTTP
// servers: a primary that dies, a standby, and a DNS webhook that records the switch. Probes get
// a 1 s timeout: the suite runs beside the replicas test, and a loaded machine must not look like
// a dead primary.
let primary: RecordingServer;
let standby: RecordingServer;
let hook: RecordingServer;
let ws: Awaited<ReturnType<typeof workspace>>;
const daemons: RunningDaemon[] = [];

async function setUp(ttl: string, restore = ''): Promise<void> {
  [primary, standby, hook] = await Promise.all([
    startRecordingServer(),
    startRecordingServer(),
    startRecordingServer(),
  ]);
  ws = await workspace(`failover:
  site: app
  primary: { probes: [{ type: http, url: "${primary.url}/health", interval: 200ms, timeout: 1s }] }
  standby: { probes: [{ type: http, url: "${standby.url}/health" }] }
  triggers: { unreachable_for: 2s }
  lease: { backend: file, path: "@DIR@/leases", ttl: ${ttl} }
  steps:${restore}
    - dns: { webhook: "${hook.url}/switch" }`);
  await writeFile(ws.config, (await readFile(ws.config, 'utf8')).replaceAll('@DIR@', ws.dir));
}

afterEach(async () => {
  for (const d of daemons.splice(0)) if (d.child.exitCode === null) d.child.kill('SIGKILL');
  await Promise.all([primary?.stop(), standby?.stop(), hook?.stop()]);
  await ws?.cleanup();
});

const text = (url: string) => fetch(url).then((r) => r.text());
const has = (metrics: string, line: string) => metrics.split('\n').includes(line);
const status = async () =>
  JSON.parse((await run(DRKIT_MAIN, ['--config', ws.config, 'failover', 'status', '--json'])).stdout);

async function daemon(monitor: string): Promise<RunningDaemon> {
  const d = await startDaemon(['--config', ws.config, '--monitor', monitor]);
  daemons.push(d);
  return d;
}

it('a daemon with failover: configured sees the primary die, fills the standby from the last clean snapshot, ' +
  'switches DNS with epoch 1, and shows failed_over in /metrics, /readyz and its page', async () => {
  await setUp('2s', '\n    - restore: { sources: [data], snapshot: latest:clean, target: { data: "@DIR@/standby" } }');
  for (const args of [['backup'], ['verify', '--mark-clean', 'latest']])
    expect((await run(DRKIT_MAIN, ['--config', ws.config, ...args])).code).toBe(0);
  const d = await daemon('m1');
  await eventually('the monitor to see a healthy primary', async () =>
    has(await text(`${d.url}/metrics`), 'drkit_failover_state{site="app",state="healthy"} 1') ? true : undefined,
  );
  expect(hook.requests).toEqual([]);
  await primary.stop();
  const [call] = await hook.waitForRequests(1);
  expect(call!.json()).toEqual({
    epoch: 1,
    reason: expect.stringMatching(/^unreachable for \d+\.\d s/),
    site: 'app',
    step: '2 dns',
  });
  // The restore step ran as `drkit failover restore --step 1` in a child of the daemon.
  expect(await describeTree(path.join(ws.dir, 'standby'))).toEqual(await describeTree(path.join(ws.dir, 'data')));
  const metrics = await eventually('failed_over in /metrics', async () => {
    const m = await text(`${d.url}/metrics`);
    return has(m, 'drkit_failover_state{site="app",state="failed_over"} 1') ? m : undefined;
  });
  expect(has(metrics, 'drkit_failover_state{site="app",state="healthy"} 0')).toBe(true);
  expect(has(metrics, 'drkit_failover_epoch{site="app"} 1')).toBe(true);
  const ready = await fetch(`${d.url}/readyz`);
  expect(ready.status).toBe(200);
  expect((await ready.json()).failover).toMatchObject({ site: 'app', state: 'failed_over', epoch: 1 });
  // The lease is released after failed_over is recorded and announced: the page shows it free soon after.
  const page = await eventually('the lease free on the page', async () => {
    const p = await text(d.url);
    return p.includes('lease free.') ? p : undefined;
  });
  expect(page).toContain('<h2 id="failover">Failover of site app</h2>');
  expect(page).toMatch(/<span class="bad">failed_over<\/span>.*Fencing epoch 1; lease free\./);
  // What `drkit failover status` shows is the daemon's doing: monitor m1, one run, done.
  const done = await status();
  expect(done).toMatchObject({
    state: 'failed_over',
    epoch: 1,
    run: { outcome: 'done', holder: expect.stringMatching(/^m1\//) },
    monitors: [{ monitor: 'm1' }],
  });
  expect(done.run.steps[0]).toMatchObject({
    step: '1 restore',
    status: 'ok',
    rpoMs: expect.any(Number),
    detail: expect.stringMatching(/^snapshot \S+ of \S+, RPO \d/),
  });
  d.child.kill('SIGTERM');
  expect(await d.exited).toEqual({ code: 0, signal: null });
}, 90_000);

it('SIGTERM mid-sequence: the daemon releases the failover lease as it exits, and another monitor resumes at ' +
  'once under epoch 2, not after the 60 s TTL', async () => {
  await setUp('60s');
  hook.answer({ hang: true });
  const first = await daemon('m1');
  await eventually('the monitor to see a healthy primary', async () =>
    has(await text(`${first.url}/metrics`), 'drkit_failover_state{site="app",state="healthy"} 1') ? true : undefined,
  );
  await primary.stop();
  await hook.waitForRequests(1);
  const during = await status();
  expect(during).toMatchObject({
    state: 'failing_over',
    epoch: 1,
    lease: { holder: expect.stringMatching(/^m1\//), epoch: 1 },
    run: { outcome: 'running' },
  });
  first.child.kill('SIGTERM');
  expect(await first.exited).toEqual({ code: 0, signal: null });
  const after = await status();
  expect(after.lease).toBeUndefined();
  expect(after).toMatchObject({
    state: 'failing_over',
    run: { outcome: 'running', steps: [{ step: '1 dns', status: 'running', epoch: 1 }] },
  });

  hook.answer(undefined);
  const stoppedAt = Date.now();
  const second = await daemon('m2');
  const [, resumed] = await hook.waitForRequests(2);
  expect(resumed!.json()).toMatchObject({ epoch: 2, site: 'app', step: '1 dns' });
  expect(Date.now() - stoppedAt).toBeLessThan(30_000);
  // The epoch moves to 2 when m2 takes the lease; failed_over comes when its run is done.
  await eventually('failed_over under epoch 2', async () => {
    const m = await text(`${second.url}/metrics`);
    return has(m, 'drkit_failover_epoch{site="app"} 2') &&
      has(m, 'drkit_failover_state{site="app",state="failed_over"} 1')
      ? true
      : undefined;
  });
  expect(await status()).toMatchObject({
    state: 'failed_over',
    epoch: 2,
    run: { outcome: 'done', holder: expect.stringMatching(/^m2\//) },
  });
  second.child.kill('SIGTERM');
  expect(await second.exited).toEqual({ code: 0, signal: null });
}, 90_000);
