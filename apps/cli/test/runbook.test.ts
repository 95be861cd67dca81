import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningRedis, startRedis, tempDir } from '@drkit/test-support';
import { drkit } from './cli.js';

const BUILT_IN = ['server-failure', 'database-corruption', 'data-loss', 'security-breach', 'cloud-outage'];

let redis: RunningRedis;
let dir: string;
let cleanup: () => Promise<void>;
const run = (args: string[], options: Parameters<typeof drkit>[1] = {}) => drkit(args, { cwd: dir, ...options });
const json = <T = any>(r: { stdout: string }): T => JSON.parse(r.stdout);

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-runbook-'));
  await redis.client().flushall();
  await mkdir(path.join(dir, 'app', 'logs'), { recursive: true });
  await writeFile(path.join(dir, 'app', 'users.jsonl'), '{"id":1}\n{"id":2}\n');
  await writeFile(
    path.join(dir, 'app', 'logs', 'api.log'),
    '2026-12-01T10:00:00Z GET / 200\n2026-12-01T10:05:00Z unauthorized user=mallory from 203.0.113.9\n',
  );
  await writeFile(path.join(dir, '.env'), 'JWT_SECRET=old-jwt\nAUTH_PASSWORD=old-pw\nPORT=3000\n');
  await writeFile(
    path.join(dir, 'drkit.config.yaml'),
    `repository: ./repo
state: ./state
sources:
  - { name: app, type: files, path: ./app }
  - { name: cache, type: redis, url: "${redis.url}" }
runbooks:
  slow:
    description: a step that takes a while, for the kill test
    steps:
      - { id: first, type: command, run: "echo one > first.txt" }
      - { id: wait, type: command, run: "echo waiting >&2; sleep 30" }
      - { id: last, type: command, run: "echo three > last.txt" }
`,
  );
  expect((await run(['init'])).code).toBe(0);
});
afterEach(() => cleanup());

describe('drkit runbook', () => {
  it(
    'lists the five built-in runbooks and the config one, and each runs end to end in --dry-run without doing ' +
      'or recording anything',
    async () => {
      const listed = json(await run(['runbook', 'list', '--json']));
      expect(listed.map((r: { name: string }) => r.name)).toEqual([...BUILT_IN, 'slow']);
      for (const name of BUILT_IN) {
        const r = await run(['runbook', 'run', name, '--dry-run', '--json']);
        expect(r.code, `${name}: ${r.stderr}`).toBe(0);
        const record = json(r);
        expect(record).toMatchObject({ runbook: name, dry_run: true, status: 'ok', incident: null });
        expect(
          record.steps.every(
            (s: { status: string; summary: string }) => s.status === 'ok' && s.summary.startsWith('would '),
          ),
        ).toBe(true);
      }
      const breach = json(await run(['runbook', 'run', 'security-breach', '--dry-run', '--json']));
      expect(breach.steps.map((s: { summary: string }) => s.summary)).toEqual([
        'would drkit backup --emergency --tag breach-evidence',
        "would drkit redis revoke-tokens --source cache --pattern 'token:*' --yes",
        'would drkit secrets rotate --env-file .env --keys JWT_SECRET,AUTH_PASSWORD',
        `would drkit logs scan --glob ${path.join(dir, 'app')}/**/*.log`.replace(/ (\S*\*\S*)$/, " '$1'"),
        'would ask: Restore snapshot latest:clean over the live data (the emergency snapshot keeps the ' +
          'breached state)?',
        `would drkit restore latest:clean --source app --target ${path.join(dir, 'app')} --overwrite ` +
          `if-changed; drkit restore latest:clean --source cache --mode replace --yes`,
        'would incident update (monitoring): Tokens revoked, secrets rotated, logs scanned and clean data ' +
          'restored. Watching for further access.',
      ]);
      expect(existsSync(path.join(dir, 'state'))).toBe(false);
      expect(await readFile(path.join(dir, '.env'), 'utf8')).toContain('JWT_SECRET=old-jwt');
    },
  );

  it(
    'security-breach for real: evidence, tokens revoked, secrets rotated, logs scanned, latest:clean ' +
      'restored, every step on the incident',
    async () => {
      const client = redis.client();
      await client.set('session:1', 'kept');
      await client.set('token:clean', 'before');
      expect((await run(['backup'])).code).toBe(0);
      expect((await run(['verify', 'latest', '--mark-clean'])).code).toBe(0);
      // The breach: a planted token, a changed data file.
      await client.set('token:attacker', 'x');
      await writeFile(path.join(dir, 'app', 'users.jsonl'), '{"id":1,"admin":true}\n');

      const r = await run(['runbook', 'run', 'security-breach', '--yes', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const record = json(r);
      expect(record.status).toBe('ok');
      expect(record.steps.map((s: { status: string }) => s.status)).toEqual(Array(7).fill('ok'));
      // Revoked before the restore, then latest:clean brought back what it held.
      expect(record.steps[1].summary).toBe('2 keys removed');
      expect(await client.get('token:attacker')).toBeNull();
      expect(await client.get('session:1')).toBe('kept');
      expect(await readFile(path.join(dir, 'app', 'users.jsonl'), 'utf8')).toBe('{"id":1}\n{"id":2}\n');
      const env = await readFile(path.join(dir, '.env'), 'utf8');
      expect(env).not.toContain('old-jwt');
      expect(env).not.toContain('old-pw');
      expect(env).toContain('PORT=3000');
      const old = (await readdir(dir)).find((f) => f.startsWith('.env.') && f.endsWith('.old'))!;
      expect((await stat(path.join(dir, old))).mode & 0o777).toBe(0o600);
      expect(r.stdout + r.stderr).not.toContain('old-jwt');
      expect(record.steps[3].summary).toBe(
        '1 file(s), 2 lines: suspicious 0, error 0, unauthorized 1 (2026-12-01T10:05:00Z … 2026-12-01T10:05:00Z)',
      );
      const snapshots = json(await run(['snapshots', '--json']));
      expect(snapshots.at(-1).tags).toEqual(['breach-evidence', 'emergency']);

      const incident = json(await run(['incident', 'show', record.incident, '--json']));
      expect(incident).toMatchObject({
        severity: 'P1',
        title: expect.stringContaining('Runbook security-breach'),
        status: 'monitoring',
      });
      const steps = incident.timeline.filter((e: { message: string }) => e.message.startsWith('Step '));
      expect(steps.map((e: { message: string }) => e.message.split(':')[0])).toEqual(
        [
          'evidence (backup)',
          'revoke-tokens (revoke-tokens)',
          'rotate-secrets (rotate-secrets)',
          'scan-logs (log-scan)',
          'confirm-restore (confirm)',
          'restore-clean (restore)',
          'monitoring (notify)',
        ].map((s, i) => `Step ${i + 1}/7 ${s}`),
      );

      // The report writes itself from the timeline and the run.
      const written = await run(['incident', 'report', record.incident.slice(0, 18), '--json']);
      expect(written.code, written.stderr).toBe(0);
      const file = json(written).path;
      expect(path.relative(dir, file)).toBe(
        `docs/incident-reports/${incident.openedAt.slice(0, 10)}` +
          `-runbook-security-breach-a-security-breach-keep-evidence.md`,
      );
      const report = await readFile(file, 'utf8');
      const clean = snapshots.find((s: { tags: string[] }) => s.tags.includes('clean')).id;
      expect(report).toContain(`restore-clean restored snapshot ${clean}`);
      expect(report).toMatch(/- Data-loss window: [\d.]+ (s|min) \(restore-clean restored snapshot/);
      expect(report).toMatch(/- RTO achieved: [\d.]+ s \(objective 4\.0 h: met\)/);
      expect(report).toMatch(/\| security-breach \| scan-logs \(log-scan\) \| ok \|/);
      expect(report).toContain('- Users affected: _To be written by a person._');
      expect(report).not.toContain('old-jwt');
      // Never over what people may have written.
      const again = await run(['incident', 'report', record.incident, '--json']);
      expect(again.code).toBe(1);
      expect(json(again).error.code).toBe('INCIDENT_REPORT_EXISTS');
    },
  );

  it(
    'a confirm step without --yes and without a terminal stops the run, says what ran and how to resume; ' +
      '--from finishes it',
    async () => {
      expect((await run(['backup'])).code).toBe(0);
      expect((await run(['verify', 'latest', '--mark-clean'])).code).toBe(0);
      await writeFile(path.join(dir, 'app', 'users.jsonl'), '');
      const r = await run(['runbook', 'run', 'data-loss']);
      expect(r.code).toBe(1);
      const id = /incident (\S+)/.exec(r.stdout)![1]!;
      expect(r.stdout).toContain('  ran: evidence, verify-clean\n');
      expect(r.stdout).toContain(
        '  failed: confirm-restore: This step needs a person to confirm it, and there is no terminal to ask',
      );
      expect(r.stdout).toContain('  not run: restore, monitoring\n');
      expect(r.stdout).toContain(`  to resume: drkit runbook run data-loss --from confirm-restore --incident ${id}\n`);
      expect(await readFile(path.join(dir, 'app', 'users.jsonl'), 'utf8')).toBe('');

      const resumed = await run([
        'runbook',
        'run',
        'data-loss',
        '--from',
        'confirm-restore',
        '--incident',
        id,
        '--yes',
        '--json',
      ]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(json(resumed).steps.map((s: { status: string }) => s.status)).toEqual([
        'not-run',
        'not-run',
        'ok',
        'ok',
        'ok',
      ]);
      expect(await readFile(path.join(dir, 'app', 'users.jsonl'), 'utf8')).toBe('{"id":1}\n{"id":2}\n');
    },
  );

  it('a run killed mid-step resumes with --from that step', async () => {
    const killed = await run(['runbook', 'run', 'slow'], {
      onStderrLine: (line, pid) => {
        if (line === 'waiting') process.kill(pid, 'SIGKILL');
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(path.join(dir, 'first.txt'))).toBe(true);
    const incidents = json(await run(['incident', 'list', '--json']));
    expect(incidents).toHaveLength(1);
    const r = await run(['runbook', 'run', 'slow', '--from', 'last', '--incident', incidents[0].id]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'last.txt'))).toBe(true);
    expect(r.stdout).toContain(`runbook slow: ok, incident ${incidents[0].id}`);
  });

  it(
    'database-corruption and server-failure for real: restore, verify, and wait until the live service ' +
      'answers its health probe',
    async () => {
      const live = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
      await new Promise((resolve) => live.once('listening', resolve));
      const port = (live.address() as AddressInfo).port;
      try {
        const config = await readFile(path.join(dir, 'drkit.config.yaml'), 'utf8');
        await writeFile(
          path.join(dir, 'drkit.config.yaml'),
          `${config}health: [{ type: http, url: "http://127.0.0.1:${port}/", body: ok }]\n`,
        );
        const client = redis.client();
        await client.set('user:1', 'Ada');
        expect((await run(['backup'])).code).toBe(0);
        expect((await run(['verify', 'latest', '--mark-clean'])).code).toBe(0);

        // Corruption: a bad JSONL line and a changed key.
        await writeFile(path.join(dir, 'app', 'users.jsonl'), '{"id":1}\n{"id":\n');
        await client.set('user:1', 'garbage');
        const corruption = await run(['runbook', 'run', 'database-corruption', '--yes', '--json']);
        expect(corruption.code, corruption.stderr).toBe(0);
        const record = json(corruption);
        expect(record.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
          'evidence:ok',
          'verify-clean:ok',
          'confirm-restore:ok',
          'restore:ok',
          'wait-healthy:ok',
          'monitoring:ok',
        ]);
        expect(record.steps[4].summary).toMatch(/^http http:\/\/127\.0\.0\.1:\d+\/: ok in \d+ ms$/);
        expect(await readFile(path.join(dir, 'app', 'users.jsonl'), 'utf8')).toBe('{"id":1}\n{"id":2}\n');
        expect(await client.get('user:1')).toBe('Ada');

        // The next scheduled backup; then the server is gone: everything comes back from latest onto this one.
        expect((await run(['backup'])).code).toBe(0);
        await rm(path.join(dir, 'app'), { recursive: true });
        await client.flushall();
        const failure = await run(['runbook', 'run', 'server-failure', '--yes', '--json']);
        expect(failure.code, failure.stderr).toBe(0);
        expect(json(failure).steps.every((s: { status: string }) => s.status === 'ok')).toBe(true);
        expect(await readFile(path.join(dir, 'app', 'logs', 'api.log'), 'utf8')).toContain('unauthorized');
        expect(await client.get('user:1')).toBe('Ada');
      } finally {
        live.close();
      }
    },
  );

  it(
    'cloud-outage for real: fails over through the failover: steps (activate, DNS hook with the epoch), waits ' +
      'for the standby to serve, every step on the incident',
    async () => {
      const calls: { epoch: number; reason: string; step: string }[] = [];
      const dns = createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          calls.push(JSON.parse(body));
          res.end('switched');
        });
      }).listen(0, '127.0.0.1');
      const standby = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
      await Promise.all([dns, standby].map((s) => new Promise((resolve) => s.once('listening', resolve))));
      const url = (s: typeof dns, p: string) => `http://127.0.0.1:${(s.address() as AddressInfo).port}${p}`;
      try {
        const config = await readFile(path.join(dir, 'drkit.config.yaml'), 'utf8');
        await writeFile(
          path.join(dir, 'drkit.config.yaml'),
          `${config}health: [{ type: http, url: "${url(standby, '/')}", body: ok }]
failover:
  site: app
  primary: { probes: [{ type: http, url: "http://127.0.0.1:9/health", timeout: 200ms }] }
  standby: { probes: [{ type: http, url: "${url(standby, '/')}" }] }
  lease: { backend: file, path: ./leases, ttl: 2s }
  steps:
    - activate: { command: 'echo "$DRKIT_FAILOVER_EPOCH $DRKIT_FAILOVER_REASON" > activated' }
    - dns: { webhook: "${url(dns, '/switch')}" }
    - verify: { for: 500ms, timeout: 10s }
`,
        );
        const r = await run(['runbook', 'run', 'cloud-outage', '--yes', '--json']);
        expect(r.code, r.stderr).toBe(0);
        const record = json(r);
        expect(record.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
          'announce:ok',
          'confirm-failover:ok',
          'failover:ok',
          'wait-healthy:ok',
          'monitoring:ok',
        ]);
        expect((await readFile(path.join(dir, 'activated'), 'utf8')).trim()).toBe('1 runbook cloud-outage');
        expect(calls).toEqual([{ epoch: 1, reason: 'runbook cloud-outage', site: 'app', step: '2 dns' }]);
        const status = json(await run(['failover', 'status', '--json']));
        expect(status).toMatchObject({ state: 'failed_over', epoch: 1, run: { outcome: 'done', trigger: 'manual' } });
        const incident = json(await run(['incident', 'show', record.incident, '--json']));
        expect(incident).toMatchObject({ severity: 'P1', status: 'monitoring' });
        expect(
          incident.timeline
            .filter((e: { message: string }) => e.message.startsWith('Step '))
            .map((e: { message: string }) => e.message.split(':')[0]),
        ).toEqual(
          [
            'announce (notify)',
            'confirm-failover (confirm)',
            'failover (failover)',
            'wait-healthy (wait-until-healthy)',
            'monitoring (notify)',
          ].map((s, i) => `Step ${i + 1}/5 ${s}`),
        );
      } finally {
        dns.close();
        standby.close();
      }
    },
  );

  it('a wait-until-healthy step whose service never answers fails at its limit and names the probe', async () => {
    const config = await readFile(path.join(dir, 'drkit.config.yaml'), 'utf8');
    await writeFile(
      path.join(dir, 'drkit.config.yaml'),
      config.replace(
        'runbooks:\n',
        'runbooks:\n  probe-down:\n    description: waits for a closed port\n    steps:\n' +
          '      - { id: wait, type: wait-until-healthy, within: 2s, probes: [{ type: tcp, host: 127.0.0.1, ' +
          'port: 1 }] }\n',
      ),
    );
    const r = await run(['runbook', 'run', 'probe-down', '--json']);
    expect(r.code).toBe(1);
    expect(json(r).steps[0]).toMatchObject({
      id: 'wait',
      status: 'failed',
      summary: expect.stringMatching(/^tcp 127\.0\.0\.1:1: connect ECONNREFUSED/),
    });
  });

  it('names an unknown runbook or step', async () => {
    const r = await run(['runbook', 'run', 'nope', '--json']);
    expect(r.code).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'RUNBOOK_NOT_FOUND', hint: expect.stringContaining('server-failure') });
    const s = await run(['runbook', 'run', 'slow', '--from', 'nope', '--json']);
    expect(json(s).error).toMatchObject({ code: 'RUNBOOK_NO_SUCH_STEP', hint: 'Its steps: first, wait, last.' });
  });
});
