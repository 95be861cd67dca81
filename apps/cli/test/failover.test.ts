import { createServer, type Server } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Notifier } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';
import {
  describeTree,
  makeSampleTree,
  redisContents,
  type RunningEtcd,
  type RunningRedis,
  sameRedisContents,
  seedRedis,
  startEtcd,
  startRedis,
  tempDir,
} from '@drkit/test-support';
import { drkit } from './cli.js';

/**
 * A DNS (or activate) webhook that records each switch and refuses
 * an epoch older than one it has seen: the fencing a real hook does.
 */
async function startHook(): Promise<{
  url: string;
  calls: { epoch: number; reason: string; step: string }[];
  refused: number[];
  close(): Promise<void>;
}> {
  const calls: { epoch: number; reason: string; step: string }[] = [];
  const refused: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const call = JSON.parse(body) as { epoch: number; reason: string; step: string };
      const newest = Math.max(0, ...calls.map((c) => c.epoch));
      if (call.epoch < newest) {
        refused.push(call.epoch);
        return void res.writeHead(409).end(`stale epoch ${call.epoch}: ${newest} has switched already`);
      }
      calls.push(call);
      res.writeHead(200).end('switched');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/switch`,
    calls,
    refused,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A plain HTTP service that answers 200 until closed. */
async function startService(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/health`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let dir: string;
let cleanup: () => Promise<void>;
let hook: Awaited<ReturnType<typeof startHook>>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-cli-failover-'));
  hook = await startHook();
});
afterEach(async () => {
  await hook.close();
  await cleanup();
});

const status = async (cfg: string) =>
  JSON.parse((await drkit(['--config', cfg, 'failover', 'status', '--json'])).stdout);

describe('drkit failover: a real sequence end to end', () => {
  let primaryRedis: RunningRedis;
  let standbyRedis: RunningRedis;
  beforeAll(async () => {
    [primaryRedis, standbyRedis] = await Promise.all([startRedis(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([primaryRedis?.stop(), standbyRedis?.stop()]);
  });

  it('the primary dies; the monitor activates, fills the standby from the last clean snapshot, switches DNS, ' +
    'verifies; status and the P1 incident show each step and the RPO', async () => {
    const primary = await startService();
    const standby = await startService();
    await makeSampleTree(path.join(dir, 'data'));
    await seedRedis(primaryRedis.client());
    const cfg = path.join(dir, 'drkit.config.yaml');
    await writeFile(
      cfg,
      `repository: ./repo
state: ./state
sources:
  - { name: data, type: files, path: ./data }
  - { name: cache, type: redis, url: "${primaryRedis.url}" }
failover:
  site: app
  primary: { probes: [{ type: http, url: "${primary.url}", interval: 200ms, timeout: 200ms }] }
  standby: { probes: [{ type: http, url: "${standby.url}", timeout: 500ms }] }
  triggers: { unreachable_for: 1s }
  lease: { backend: file, path: ./leases, ttl: 2s }
  steps:
    - activate: { command: 'echo "$DRKIT_FAILOVER_EPOCH $DRKIT_FAILOVER_REASON" > activated' }
    - restore: { sources: [data, cache], snapshot: latest:clean, target: { data: ./standby/data, cache: ` +
        `"${standbyRedis.url}" } }
    - dns: { webhook: "${hook.url}" }
    - verify: { for: 1s, timeout: 20s }
`,
    );
    expect((await drkit(['--config', cfg, 'init'], { cwd: dir })).code).toBe(0);
    expect((await drkit(['--config', cfg, 'backup'], { cwd: dir })).code).toBe(0);
    expect((await drkit(['--config', cfg, 'verify', '--mark-clean', 'latest'], { cwd: dir })).code).toBe(0);
    const expectedRedis = await redisContents(primaryRedis.client(), [0, 1, 3]);

    const plan = await drkit(['--config', cfg, 'failover', 'plan'], { cwd: dir });
    expect(plan.stdout).toMatch(/2 restore: restore snapshot \S+ of \S+ \(latest:clean; RPO now/);
    expect(plan.stdout).toContain(`3 dns: POST {epoch, reason, site, step} to ${hook.url}`);
    expect(hook.calls).toEqual([]);

    let monitorPid = 0;
    const monitor = drkit(['--config', cfg, 'failover', 'monitor', '--monitor', 'm1'], {
      cwd: dir,
      onStdoutLine: (line, pid) => {
        monitorPid = pid;
        if (line.includes('healthy: probes pass')) void primary.close();
        if (line.startsWith('failover done') || line.startsWith('failover STOPPED')) process.kill(pid, 'SIGTERM');
      },
    });
    const ended = await monitor;
    expect(ended.code, ended.stderr).toBe(143); // stopped by SIGTERM, as documented
    expect(monitorPid).toBeGreaterThan(0);
    expect(ended.stdout).toMatch(/failed_over: unreachable for [1-9]\d*\.\d s \(limit 1\.0 s\)/);
    expect(ended.stdout).toMatch(/1 activate +ok in \d+\.\d s \(epoch 1\)/);
    expect(ended.stdout).toMatch(/RPO achieved: \d+\.\d s \(snapshot \S+/);

    // What each step did, seen from outside.
    expect((await readFile(path.join(dir, 'activated'), 'utf8')).trim()).toMatch(/^1 unreachable for [1-9]\d*\.\d s/);
    expect(await describeTree(path.join(dir, 'standby/data'))).toEqual(await describeTree(path.join(dir, 'data')));
    expect(sameRedisContents(await redisContents(standbyRedis.client(), [0, 1, 3]), expectedRedis, 60_000)).toEqual([]);
    expect(hook.calls).toEqual([
      { epoch: 1, reason: expect.stringMatching(/^unreachable for/), site: 'app', step: '3 dns' },
    ]);

    const s = await status(cfg);
    expect(s).toMatchObject({
      site: 'app',
      state: 'failed_over',
      epoch: 1,
      run: { outcome: 'done', trigger: 'automatic' },
    });
    expect(s.run.steps.map((st: { step: string; status: string }) => `${st.step} ${st.status}`)).toEqual([
      '1 activate ok',
      '2 restore ok',
      '3 dns ok',
      '4 verify ok',
    ]);
    for (const st of s.run.steps) expect(st.ms).toBeGreaterThanOrEqual(0);
    expect(s.run.steps[1].rpoMs).toBeGreaterThan(0);
    expect(s.monitors[0]).toMatchObject({ monitor: 'm1', verdict: { health: 'failing' }, results: [{ ok: false }] });

    const [incident] = await new Notifier({ store: new FolderStateStore(path.join(dir, 'state')) }).list();
    expect(incident).toMatchObject({ severity: 'P1', title: 'Failover of site app' });
    const lines = incident!.timeline.map((e) => e.message);
    for (const step of ['1 activate', '2 restore', '3 dns', '4 verify'])
      expect(lines.some((l) => new RegExp(`^step ${step} ok in \\d+\\.\\d s`).test(l))).toBe(true);
    expect(lines.find((l) => l.startsWith('step 2 restore'))).toMatch(/RPO \d+\.\d s/);
    expect(lines.at(-1)).toMatch(/^Site app failed over \(epoch 1\) in .*; RPO achieved/);
    await standby.close();
  }, 120_000);
});

describe('drkit failover: a step that fails, and bad config', () => {
  it('a standby that never becomes healthy stops the sequence; trigger exits 1, P1 is paged once, and status ' +
    'says where it stopped', async () => {
    // The pager: notify's webhook channel, P1 sent at once.
    const pages: string[] = [];
    const pager = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        pages.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => pager.listen(0, '127.0.0.1', r));
    const cfg = path.join(dir, 'drkit.config.yaml');
    await writeFile(
      cfg,
      `sources: [{ name: data, type: files, path: ./data }]
state: ./state
notify:
  channels: { pager: { type: webhook, url: "http://127.0.0.1:${(pager.address() as { port: number }).port}/page" } }
  routes: { P1: { channels: [pager], within: 0s } }
failover:
  primary: { probes: [{ type: tcp, host: 127.0.0.1, port: 1 }] }
  standby: { probes: [{ type: tcp, host: 127.0.0.1, port: 1, timeout: 200ms }] }
  lease: { backend: file, path: ./leases }
  steps:
    - activate: { command: "true" }
    - verify: { for: 1s, timeout: 1s }
    - dns: { webhook: "${hook.url}" }
`,
    );
    expect((await drkit(['--config', cfg, 'failover', 'trigger', '--reason', 'drill'])).stderr).toContain(
      'needs --yes',
    );
    const r = await drkit(['--config', cfg, 'failover', 'trigger', '--reason', 'drill', '--yes'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('failover STOPPED (epoch 1, manual: drill)');
    expect(r.stdout).toMatch(/2 verify +failed in [1-9]\d*\.\d s \(epoch 1\): did not finish within 1\.0 s/);
    expect(r.stdout).toMatch(/3 dns +not_run/);
    expect(hook.calls).toEqual([]);
    const s = await drkit(['--config', cfg, 'failover', 'status'], { cwd: dir });
    expect(s.stdout).toContain('site default: failing_over');
    expect(s.stdout).toContain('stopped at step 2 verify');
    const [incident] = await new Notifier({ store: new FolderStateStore(path.join(dir, 'state')) }).list();
    expect(incident!.severity).toBe('P1');
    expect(incident!.timeline.filter((e) => e.message.includes('STOPPED'))).toHaveLength(1);
    // Paged while it ran: the failover, each step, and the stop once.
    expect(pages.filter((p) => p.includes('Failover of site default STOPPED at step 2 verify'))).toHaveLength(1);
    expect(pages.some((p) => p.includes('Failing over site default (manual: drill)'))).toBe(true);
    // The restore step alone (what drkit-scheduler runs in a child): this config has none.
    for (const [args, message] of [
      [['--step', '1'], 'Step 1 of failover.steps is the activate step, not a restore step.'],
      [[], 'failover.steps has no restore step.'],
    ] as const) {
      const restore = await drkit(['--config', cfg, '--json', 'failover', 'restore', ...args], { cwd: dir });
      expect(restore.code).toBe(1);
      expect(JSON.parse(restore.stdout).error).toMatchObject({
        code: 'FAILOVER_NO_SUCH_STEP',
        message,
        hint: 'drkit failover plan lists the steps with their numbers.',
      });
    }
    pager.close();
  }, 60_000);

  it('a bad failover: section is a config error naming the key', async () => {
    const cfg = path.join(dir, 'drkit.config.yaml');
    await writeFile(
      cfg,
      `sources: [{ name: data, type: files, path: ./data }]
failover:
  primary: { probes: [{ type: tcp, host: 127.0.0.1, port: 1 }] }
  standby: { probes: [{ type: tcp, host: 127.0.0.1, port: 1 }] }
  monitors: [eu]
  quorum: 2
  lease: { backend: file, path: ./leases }
  steps: [{ reboot: { command: reboot } }]
`,
    );
    const r = await drkit(['--config', cfg, '--json', 'failover', 'status']);
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout).error;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('failover.quorum: quorum 2 is more than the 1 monitor(s) listed');
    expect(error.message).toContain('failover.steps[0].reboot: unknown step "reboot"');
  });
});

describe('drkit failover: the lease holder killed with SIGKILL mid-sequence', () => {
  let etcd: RunningEtcd;
  let redis: RunningRedis;
  beforeAll(async () => {
    [etcd, redis] = await Promise.all([startEtcd(), startRedis()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([etcd?.stop(), redis?.stop()]);
  });

  for (const backend of ['etcd', 'redis'] as const)
    it(`over ${backend}: another monitor takes over after the TTL with a higher epoch, and the hook refuses ` +
      `the stale epoch`, async () => {
      const lease =
        backend === 'etcd'
          ? `{ backend: etcd, endpoints: ["${etcd.endpoint}"], ttl: 2s }`
          : `{ backend: redis, url: "${redis.url}", ttl: 2s }`;
      const cfg = path.join(dir, 'drkit.config.yaml');
      await mkdir(path.join(dir, 'data'));
      await writeFile(
        cfg,
        `sources: [{ name: data, type: files, path: ./data }]
state: ./state
failover:
  site: kill-${backend}
  primary: { probes: [{ type: tcp, host: 127.0.0.1, port: 1, interval: 200ms }] }
  standby: { probes: [{ type: command, command: "true" }] }
  triggers: { unreachable_for: 1s }
  lease: ${lease}
  steps:
    # The first holder (epoch 1) hangs here and is killed; the one that takes over goes on.
    - activate: { command: 'echo "$DRKIT_FAILOVER_EPOCH $$" >> activated; [ "$DRKIT_FAILOVER_EPOCH" = 1 ] && exec ` +
          `sleep 60; true' }
    - dns: { webhook: "${hook.url}" }
    - verify: { for: 1s }
`,
      );
      const activated = async () =>
        (await readFile(path.join(dir, 'activated'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
      const first = drkit(['--config', cfg, 'failover', 'trigger', '--reason', 'drill', '--yes'], {
        cwd: dir,
        onSpawn: (pid) => {
          // Killed once its activate step has started (the step writes its line first).
          const poll = setInterval(async () => {
            const lines = await activated();
            if (lines.length === 0) return;
            clearInterval(poll);
            process.kill(pid, 'SIGKILL');
            process.kill(-Number(lines[0]!.split(' ')[1]), 'SIGKILL'); // the step's own process group
          }, 50);
        },
      });
      expect((await first).signal).toBe('SIGKILL');
      const killedAt = Date.now();
      const held = await status(cfg);
      // (Its lease may lapse while status starts on a loaded machine: not asserted.)
      expect(held).toMatchObject({
        state: 'failing_over',
        epoch: 1,
        run: {
          outcome: 'running',
          steps: [{ status: 'running', epoch: 1 }, { status: 'not_run' }, { status: 'not_run' }],
        },
      });

      const second = await drkit(['--config', cfg, 'failover', 'monitor', '--monitor', 'm2'], {
        cwd: dir,
        onStdoutLine: (line, pid) => {
          if (line.startsWith('failover done') || line.startsWith('failover STOPPED')) process.kill(pid, 'SIGTERM');
        },
      });
      expect(second.code, second.stderr).toBe(143);
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1_500);
      expect(second.stdout).toMatch(/failover done \(epoch [2-9]\d*, manual: drill\)/);
      const after = await status(cfg);
      expect(after).toMatchObject({ state: 'failed_over', run: { outcome: 'done', reason: 'drill' } });
      expect(after.epoch).toBeGreaterThan(1);
      expect((await activated()).map((l) => Number(l.split(' ')[0]))).toEqual([1, after.epoch]);
      expect(hook.calls).toEqual([{ epoch: after.epoch, reason: 'drill', site: `kill-${backend}`, step: '2 dns' }]);
      // The killed holder's epoch, were it a zombie that woke up: refused.
      const stale = await fetch(hook.url, {
        method: 'POST',
        body: JSON.stringify({ epoch: 1, reason: 'drill', site: `kill-${backend}`, step: '2 dns' }),
      });
      expect(stale.status).toBe(409);
      expect(hook.refused).toEqual([1]);
    }, 90_000);
});
