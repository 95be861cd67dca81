/// <reference lib="dom" />
// Playwright locators: innerText is the text as rendered, what a reader sees.
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators, see above
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRKIT_MAIN, eventually, incidents, type RunningDaemon, run, runs, startDaemon, workspace } from './daemon.js';

// Real peers: Debian's prometheus and prometheus-alertmanager, and chromium through playwright-core
// (scripts/setup.sh installs them), each started on a loopback port of its own choosing with a generated config.
const TOKEN = 'test-token-0123456789abcdef';
let ws: Awaited<ReturnType<typeof workspace>>;
let daemon: RunningDaemon;
const peers: ChildProcess[] = [];

/**
 * Starts a peer listening on 127.0.0.1:0 and resolves with the port it logs once it listens: a port picked
 * here and bound later could be taken meanwhile by another process.
 */
async function startPeer(bin: string, args: string[]): Promise<number> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: bash scripts/setup.sh installs it.`);
  const child = spawn(bin, [...args, '--web.listen-address=127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  peers.push(child);
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      log += d;
      const port = /msg="Listening on" address=127\.0\.0\.1:(\d+)/.exec(log)?.[1];
      if (port) resolve(Number(port));
    });
    child.on('exit', (code) => reject(new Error(`${bin} exited ${code} before listening: ${log}`)));
  });
}

beforeAll(async () => {
  ws = await workspace(`schedule:
  timezone: UTC
  jobs:
    - { name: often, cron: "*/2 * * * * *", run: backup }
scheduler: { token: "\${DRKIT_HTTP_TOKEN}" }`);
  daemon = await startDaemon(['--config', ws.config], { DRKIT_HTTP_TOKEN: TOKEN });
  await eventually('two backups', async () =>
    (await runs(ws.state, 'often')).filter((r) => r.result === 'success').length >= 2 ? true : undefined,
  );
});

afterAll(async () => {
  for (const peer of peers) peer.kill('SIGTERM');
  daemon?.child.kill('SIGTERM');
  await daemon?.exited;
  await ws?.cleanup();
});

describe('with real peers', () => {
  it("Debian's prometheus scrapes /metrics: its HTTP API returns drkit_rpo_seconds", async () => {
    const dir = path.join(ws.dir, 'prometheus');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: drkit\n` +
        `    static_configs: [{ targets: ["${new URL(daemon.url).host}"] }]\n`,
    );
    const port = await startPeer('/usr/bin/prometheus', [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
    ]);
    const result = await eventually('prometheus to have drkit_rpo_seconds', async () => {
      const answer = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=drkit_rpo_seconds`).then(
        // 503 while it starts.
        (r) =>
          r.ok
            ? (r.json() as Promise<{
                data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
              }>)
            : undefined,
        () => undefined,
      );
      return answer?.data?.result.length ? answer.data.result : undefined;
    });
    expect(result[0]!.metric).toMatchObject({ __name__: 'drkit_rpo_seconds', source: 'data', job: 'drkit' });
    expect(Number(result[0]!.value[1])).toBeLessThan(3600);
  });

  it(
    "Debian's prometheus-alertmanager delivers a firing and " +
      'then a resolved alert: the incident opens and resolves',
    async () => {
      const dir = path.join(ws.dir, 'alertmanager');
      await mkdir(dir);
      await writeFile(
        path.join(dir, 'alertmanager.yml'),
        `route: { receiver: drkit, group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h }
receivers:
  - name: drkit
    webhook_configs:
      - url: ${daemon.url}/alertmanager
        send_resolved: true
        http_config: { authorization: { credentials: ${TOKEN} } }
`,
      );
      const port = await startPeer('/usr/bin/prometheus-alertmanager', [
        `--config.file=${dir}/alertmanager.yml`,
        `--storage.path=${dir}/data`,
        '--cluster.listen-address=',
      ]);
      const alert = (endsAt?: string) => [
        {
          labels: { alertname: 'DiskAlmostFull', severity: 'critical', component: 'storage', instance: 'db-1' },
          annotations: { summary: 'disk 95% full on db-1' },
          ...(endsAt ? { endsAt } : {}),
        },
      ];
      const post = (body: unknown) =>
        fetch(`http://127.0.0.1:${port}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).catch(() => undefined);
      await eventually('alertmanager to take the alert', async () => ((await post(alert()))?.ok ? true : undefined));
      const opened = await eventually('the incident to open', async () =>
        (await incidents(ws.state)).find((i) => i.labels.alertname === 'DiskAlmostFull'),
      );
      expect(opened).toMatchObject({
        severity: 'P1',
        title: 'DiskAlmostFull: disk 95% full on db-1',
        components: ['storage'],
        status: 'investigating',
      });
      expect(opened.dedupKey).toMatch(/^alertmanager:[0-9a-f]+$/);
      expect((await post(alert(new Date(Date.now() - 1000).toISOString())))?.ok).toBe(true);
      const resolved = await eventually('the incident to resolve', async () =>
        (await incidents(ws.state, true)).find((i) => i.id === opened.id && i.status === 'resolved'),
      );
      expect(resolved.timeline.at(-1)!.message).toBe('Resolved in Alertmanager: disk 95% full on db-1');
    },
  );

  it('POST /alertmanager: no token 401, malformed 400, both changing nothing', async () => {
    const before = (await incidents(ws.state, true)).length;
    const payload = {
      version: '4',
      status: 'firing',
      alerts: [{ status: 'firing', labels: { alertname: 'X' }, fingerprint: 'abc123' }],
    };
    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${daemon.url}/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const anonymous = await post(JSON.stringify(payload), {});
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error).toMatch(/bearer token is required/);
    expect((await post(JSON.stringify(payload), { authorization: 'Bearer wrong-token-0123456789abc' })).status).toBe(
      401,
    );
    const auth = { authorization: `Bearer ${TOKEN}` };
    const notJson = await post('{"version": "4", ', auth);
    expect([notJson.status, (await notJson.json()).error]).toEqual([400, 'the body is not JSON']);
    const v3 = await post(JSON.stringify({ ...payload, version: '3' }), auth);
    expect(v3.status).toBe(400);
    expect((await v3.json()).error).toMatch(/^version: .*version 4/);
    const noFingerprint = await post(JSON.stringify({ ...payload, alerts: [{ status: 'firing', labels: {} }] }), auth);
    expect((await noFingerprint.json()).error).toMatch(/^alerts\.0\.fingerprint/);
    expect((await incidents(ws.state, true)).length).toBe(before);
  });

  it(
    'the operator page and /status render in headless ' + 'chromium: the job table, the charts, no console errors',
    async () => {
      const CHROMIUM = '/usr/bin/chromium';
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: bash scripts/setup.sh installs it.`);
      const context = await chromium.launchPersistentContext(path.join(ws.dir, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          '--disable-sync',
        ],
        viewport: { width: 1000, height: 900 },
        javaScriptEnabled: false,
      });
      try {
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(e.message));
        // A real drill of the daemon's newest snapshot: the page charts drill RTO once drills exist.
        const drill = await run(DRKIT_MAIN, ['drill', '--config', ws.config, '--json']);
        expect(drill.code, drill.stderr).toBe(0);
        expect((await page.goto(daemon.url))?.status()).toBe(200);
        await expect(
          page
            .getByRole('img', { name: /^Drill RTO \(objective 4\.0 h\): 1 drills with an RTO in the last 365 days/ })
            .isVisible(),
        ).resolves.toBe(true);
        const jobs = page.getByRole('table').first();
        await expect(jobs.getByRole('rowheader', { name: 'often' }).isVisible()).resolves.toBe(true);
        // Its last run, in words (under load a slot may be skipped as an overlap), and when.
        expect(await jobs.innerText()).toMatch(/\t(success|skipped) \d{4}-\d\d-\d\d /);
        const chart = page.getByRole('img', { name: /^Backup duration: \d+ runs in the last 30 days/ });
        await expect(chart.isVisible()).resolves.toBe(true);
        expect(await page.locator('svg path').count()).toBe(3);
        const shots = path.resolve('.test-results');
        await mkdir(shots, { recursive: true });
        const full = await page.screenshot({ path: path.join(shots, 'operator-page.png'), fullPage: true });
        const table = await jobs.screenshot({ path: path.join(shots, 'operator-jobs.png') });
        const svg = await chart.screenshot({ path: path.join(shots, 'operator-chart.png') });
        for (const png of [full, table, svg]) expect(png.subarray(1, 4).toString()).toBe('PNG');
        expect(svg.length).toBeGreaterThan(2000);
        expect((await page.goto(`${daemon.url}/status`))?.status()).toBe(200);
        // The status page of @drkit/notify (the one `drkit status-page publish` writes), served live.
        await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Service status');
        await expect(page.getByRole('main').isVisible()).resolves.toBe(true);
        await page.screenshot({ path: path.join(shots, 'status.png') });
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );
});
