import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { makeSampleTree, type RunningRedis, seedRedis, startRedis, tempDir } from '@drkit/test-support';
import { drkit } from './cli.js';

let redis: RunningRedis;
let dir: string;
let cleanup: () => Promise<void>;

const run = (args: string[]) => drkit(args, { cwd: dir });
const json = <T = any>(r: { stdout: string }): T => JSON.parse(r.stdout);

/** Processes whose working folder is below `root` (a scratch redis-server runs in its sandbox). */
function processesIn(root: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`).startsWith(root);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A small HTTP service over the restored data: the data folder's names, and the scratch Redis's key count. */
async function writeService(port: number): Promise<void> {
  await writeFile(
    path.join(dir, 'service.mjs'),
    `import { createServer } from 'node:http';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
const names = readdirSync(process.env.DRKIT_DRILL_DATA + '/data');
const url = new URL(process.env.DRKIT_DRILL_REDIS_URL);
createServer((req, res) => {
  if (req.url === '/health') return res.end(JSON.stringify(names));
  const s = connect(Number(url.port), url.hostname, () => s.write('DBSIZE\\r\\n'));
  s.once('data', (d) => { s.end(); res.end(String(d)); });
}).listen(${port}, '127.0.0.1');
`,
  );
}

async function addService(o: { health: string; smoke?: string; readyWithin?: string }): Promise<void> {
  const config = await readFile(path.join(dir, 'drkit.config.yaml'), 'utf8');
  await writeFile(
    path.join(dir, 'drkit.config.yaml'),
    config.replace(
      'drill: { sandbox: ./sandboxes }',
      `drill:
  sandbox: ./sandboxes
  service:
    command: node ${path.join(dir, 'service.mjs')}
    health: ${o.health}
    ready_within: ${o.readyWithin ?? '30s'}
${o.smoke ? `    smoke: ${JSON.stringify(o.smoke)}\n` : ''}`,
    ),
  );
}

beforeAll(async () => {
  redis = await startRedis();
  await seedRedis(redis.client());
});
afterAll(() => redis.stop());

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-drill-'));
  await makeSampleTree(path.join(dir, 'data'));
  await writeFile(
    path.join(dir, 'drkit.config.yaml'),
    `repository: ./repo
state: ./state
sources:
  - { name: data, type: files, path: ./data }
  - { name: cache, type: redis, url: "${redis.url}", dbs: all }
drill: { sandbox: ./sandboxes }
`,
  );
  expect((await run(['init'])).code).toBe(0);
  const backup = await run(['backup']);
  expect(backup.code, backup.stderr).toBe(0);
});
afterEach(() => cleanup());

describe('drkit drill', () => {
  it(
    'restores files and Redis into a sandbox, reads every ' + 'file and key back, reports RTO/RPO and keeps the report',
    async () => {
      const r = await run(['drill', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const report = json(r);
      expect(report).toMatchObject({
        passed: true,
        scenario: 'restore',
        objectives: { rto_seconds: 14_400, rpo_seconds: 3_600, rto_met: true, rpo_met: true },
        problems: [],
      });
      expect(report.rto_seconds).toBeGreaterThan(0);
      expect(report.rpo_seconds).toBeGreaterThanOrEqual(0);
      expect(report.phases.map((p: { name: string }) => p.name)).toEqual([
        'select',
        'restore-files',
        'restore-redis',
        'verify',
      ]);
      const files = report.sources.find((s: { name: string }) => s.name === 'data');
      // makeSampleTree: 9 files, two of them JSONL with 3 lines in all.
      expect(files).toMatchObject({
        type: 'files',
        files: 9,
        symlinks: 2,
        jsonl: { files: 2, lines: 3, invalid_lines: 0 },
      });
      const cache = report.sources.find((s: { name: string }) => s.name === 'cache');
      expect(cache.dbs.map((d: { db: number }) => d.db)).toEqual([0, 1, 3]);
      expect(cache.dbs[0].types).toMatchObject({ stream: 1, zset: 1, list: 1, hash: 2 });
      expect(cache.keys).toBe(Number(await redis.client().dbsize()) + 4 + 2);
      // The sandbox and its scratch redis-server are gone.
      expect(await readdir(path.join(dir, 'sandboxes'))).toEqual([]);

      const history = await run(['drill', 'history', '--json']);
      expect(json(history)).toMatchObject([
        { id: report.id, passed: true, rto_seconds: report.rto_seconds, rpo_seconds: report.rpo_seconds },
      ]);
      const shown = await run(['drill', 'show', report.id.slice(0, 17)]);
      expect(shown.stdout).toContain(`# Recovery drill ${report.id}: PASSED`);
      expect(shown.stdout).toMatch(/\| restore-redis \| ok \|/);
    },
  );

  it(
    'fails with exit 1, names the damaged file and opens ' + 'a P3 incident when a byte of the repository is flipped',
    async () => {
      const data = path.join(dir, 'repo', 'data');
      const [snap] = await readdir(data);
      const archive = (await readdir(path.join(data, snap!))).find((f) => f.startsWith('data.tar'))!;
      const blob = await readFile(path.join(data, snap!, archive));
      blob[Math.floor(blob.length / 2)]! ^= 0x01;
      await writeFile(path.join(data, snap!, archive), blob);

      const r = await run(['drill', '--json']);
      expect(r.code).toBe(1);
      const report = json(r);
      expect(report.passed).toBe(false);
      expect(report.rto_seconds).toBeNull();
      expect(report.phases.at(-1)).toMatchObject({ name: 'restore-files', ok: false });
      expect(report.problems[0].message).toContain('media/blob.bin');
      const incidents = json(await run(['incident', 'list', '--json']));
      expect(incidents).toMatchObject([{ id: report.incident, severity: 'P3', title: 'Recovery drill failed' }]);
      expect(json(await run(['drill', 'history', '--json']))).toMatchObject([
        { passed: false, incident: report.incident },
      ]);

      // A later drill that passes resolves it.
      const good = await run(['backup', '--full']);
      expect(good.code, good.stderr).toBe(0);
      expect((await run(['drill'])).code).toBe(0);
      expect(json(await run(['incident', 'list', '--json']))).toEqual([]);
    },
  );

  it(
    'starts the service from the sandbox, waits for its health probe, runs the smoke test, stops it; RTO ends ' +
      'when it is healthy',
    async () => {
      const port = await freePort();
      await writeService(port);
      await addService({
        health: `[{ type: http, url: "http://127.0.0.1:${port}/health", body: "feedback.jsonl" }]`,
        smoke: `curl -fsS http://127.0.0.1:${port}/redis`,
      });
      const r = await run(['drill', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const report = json(r);
      expect(report.phases.map((p: { name: string }) => p.name)).toEqual([
        'select',
        'restore-files',
        'restore-redis',
        'verify',
        'service-start',
        'smoke',
        'service-stop',
      ]);
      expect(report.service).toMatchObject({
        healthy: true,
        detail: expect.stringMatching(/^http http:\/\/127\.0\.0\.1:\d+\/health: ok in \d+ ms$/),
      });
      const start = Date.parse(report.started_at);
      const untilHealthy = report.phases
        .slice(0, 5)
        .reduce((sum: number, p: { seconds: number }) => sum + p.seconds, 0);
      expect(report.rto_seconds).toBeGreaterThanOrEqual(untilHealthy);
      expect(report.rto_seconds).toBeLessThan((Date.parse(report.finished_at) - start) / 1000 + 0.001);
      expect(report.phases.find((p: { name: string }) => p.name === 'smoke').share).toBeNull();
      // Stopped: nothing listens on its port any more.
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    },
  );

  it('a service that never becomes healthy fails the drill at its timeout, and is stopped', async () => {
    const port = await freePort();
    await writeService(port);
    await addService({
      health: `[{ type: http, url: "http://127.0.0.1:${port}/health", body: "never there" }]`,
      readyWithin: '2s',
    });
    const r = await run(['drill', '--json']);
    expect(r.code).toBe(1);
    const report = json(r);
    expect(report.rto_seconds).toBeNull();
    expect(report.phases.slice(-2)).toMatchObject([
      { name: 'service-start', ok: false },
      { name: 'service-stop', ok: true },
    ]);
    expect(report.problems[0].message).toMatch(
      // long-line: a regex over the whole message, as the user reads it
      /^the service did not become healthy within 2 s: http http:\/\/127\.0\.0\.1:\d+\/health: the body does not contain "never there"$/,
    );
    expect(report.phases.find((p: { name: string }) => p.name === 'service-start').seconds).toBeGreaterThanOrEqual(2);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it(
    '--scenario full: the chain from the last full, every ' +
      'source of the config, and a runbook in dry-run alongside',
    async () => {
      await writeFile(path.join(dir, 'data', 'config', 'app.json'), '{"port": 3001}\n');
      expect((await run(['backup'])).code).toBe(0);
      const r = await run(['drill', '--scenario', 'full', '--runbook', 'database-corruption', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const report = json(r);
      expect(report.scenario).toBe('full');
      const snapshots = json(await run(['snapshots', '--json'])).map((s: { id: string }) => s.id);
      expect(report.chain).toEqual([
        { source: 'data', snapshots },
        { source: 'cache', snapshots: [snapshots[1]] },
      ]);
      expect(report.runbook).toMatchObject({ name: 'database-corruption', status: 'ok' });
      expect(report.runbook.steps[0].summary).toBe('would drkit backup --emergency --tag corrupted');
      expect(report.phases.at(-1)).toMatchObject({ name: 'runbook-dry-run', ok: true, share: null });
      // Nothing of the runbook ran: no emergency snapshot, no incident.
      expect(json(await run(['snapshots', '--json']))).toHaveLength(2);

      // A source of the config that the snapshot lacks fails a full drill.
      const config = await readFile(path.join(dir, 'drkit.config.yaml'), 'utf8');
      await writeFile(
        path.join(dir, 'drkit.config.yaml'),
        config.replace('sources:\n', 'sources:\n  - { name: uploads, type: files, path: ./uploads }\n'),
      );
      const missing = await run(['drill', '--scenario', 'full', '--snapshot', snapshots[1], '--json']);
      expect(missing.code).toBe(1);
      expect(json(missing).problems[0]).toMatchObject({
        phase: 'select',
        source: 'uploads',
        message: expect.stringContaining('does not hold source "uploads" of the config'),
      });
    },
  );

  it(
    'SIGINT stops the drill: its scratch redis-server is ' + 'stopped, the sandbox removed, nothing recorded, exit 130',
    async () => {
      // It hangs in the scratch Redis's restore (the server runs, its working folder in the sandbox) until the signal.
      let scratch: number[] = [];
      const r = await drkit(['drill'], {
        cwd: dir,
        env: { DRKIT_FAILPOINTS: 'restore.redis.after-flush=hang' },
        onStderrLine: (line, pid) => {
          if (!line.includes('hanging')) return;
          scratch = processesIn(path.join(dir, 'sandboxes'));
          process.kill(pid, 'SIGINT');
        },
      });
      expect(scratch).toHaveLength(1);
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(
        'drkit: interrupted by SIGINT [DRILL_INTERRUPTED]: The drill was interrupted: its service and scratch ' +
          'Redis were stopped, its sandbox removed, and nothing was recorded.',
      );
      expect(await readdir(path.join(dir, 'sandboxes'))).toEqual([]);
      // The scratch redis-server is gone.
      expect(scratch.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
      expect(json(await run(['drill', 'history', '--json']))).toEqual([]);
    },
  );

  it("fails with the repository's error, and makes no sandbox, when there is no repository", async () => {
    const r = await drkit(['drill', '--json', '--repo', path.join(dir, 'empty')], { cwd: path.join(dir, 'data') });
    expect(r.code).toBe(1);
    expect(json(r).error.code).toMatch(/^REPO_/);
    expect(existsSync(path.join(dir, 'sandboxes'))).toBe(false);
  });
});
