import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RecordingServer, startRecordingServer, tempDir } from '@drkit/test-support';
import { drkit } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;
let hooks: RecordingServer;

const run = (args: string[]) => drkit(args, { cwd: dir });
const json = <T = any>(r: { stdout: string }): T => JSON.parse(r.stdout);

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-notify-'));
  hooks = await startRecordingServer();
  await writeFile(
    path.join(dir, 'drkit.config.yaml'),
    `sources: [{ name: data, type: files, path: ./data }]
notify:
  channels:
    hook: { type: webhook, url: "${hooks.url}/hook" }
    spare: { type: webhook, url: "${hooks.url}/spare" }
  routes:
    P1: { channels: [hook, spare], within: 0s }
    P3: { channels: [hook], within: 2s }
`,
  );
});
afterEach(async () => {
  await hooks.stop();
  await cleanup();
});

describe('drkit notify', () => {
  it('flush sends what waited for a receiver that was down, and status shows the missed deadline', async () => {
    hooks.answer((r) => (r.path === '/hook' ? { status: 503 } : undefined));
    const opened = await run(['incident', 'open', '--severity', 'P1', '--title', 'Site down']);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stderr).toContain('notifications: 1 sent, 1 waiting (drkit notify flush sends them)');
    // Due at once when opened; late once more than a second has passed, which a fast machine may not have reached yet.
    await new Promise((r) => setTimeout(r, 1100));
    const status = await run(['notify', 'status']);
    expect(status.stdout).toMatch(/outbox: 1 pending, 1 delivered, 0 failed, 0 expired/);
    expect(status.stdout).toMatch(/failing: hook, 1 failed run, last: .*503.*; next attempt from /);
    expect(status.stdout).toMatch(/1 missed their deadline \(by more than a second\):\n.*\n\S+\.hook\s/);
    hooks.answer(undefined);
    // The hold after one failure is 1–2 s: --wait covers it.
    const flushed = await run(['notify', 'flush', '--wait', '10s', '--json']);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(json(flushed)).toMatchObject({ delivered: 1, failed: 0, pending: 0 });
    expect(hooks.requests.filter((r) => r.path === '/hook').map((r) => r.json().kind)).toEqual(['opened', 'opened']);
    const after = json(await run(['notify', 'status', '--json']));
    expect(after.counts).toEqual({ pending: 0, delivered: 2, failed: 0, expired: 0 });
    expect(after.late).toHaveLength(1);
  });

  it(
    'a Slack webhook answering 429 with Retry-After: 2 gets ' + 'the message again after 2 s, not before (real time)',
    async () => {
      await writeFile(
        path.join(dir, 'drkit.config.yaml'),
        `sources: [{ name: data, type: files, path: ./data }]
notify:
  channels:
    slack: { type: slack, webhook_url: "${hooks.url}/slack" }
  routes:
    P1: { channels: [slack], within: 0s }
`,
      );
      hooks.queue({ status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' });
      const opened = await run(['incident', 'open', '--severity', 'P1', '--title', 'Site down']);
      expect(opened.code, opened.stderr).toBe(0);
      const flushed = await run(['notify', 'flush', '--wait', '10s', '--json']);
      expect(flushed.code, flushed.stderr).toBe(0);
      const [refused, accepted] = hooks.requests.filter((r) => r.path === '/slack');
      expect(hooks.requests.filter((r) => r.path === '/slack')).toHaveLength(2);
      expect(accepted!.receivedAt - refused!.receivedAt).toBeGreaterThanOrEqual(2000);
      expect(accepted!.json().text).toContain('Site down');
    },
  );

  it('flush exits 1 when a message failed for good, and says where it was reported', async () => {
    // Retryable when the incident is opened, refused for good when flush tries again.
    let tries = 0;
    hooks.answer((r) => (r.path === '/hook' ? { status: tries++ === 0 ? 503 : 400 } : undefined));
    const opened = await run(['incident', 'open', '--severity', 'P1', '--title', 'Refused']);
    expect(opened.code, opened.stderr).toBe(0);
    const flushed = await run(['notify', 'flush', '--wait', '10s']);
    expect(flushed.code).toBe(1);
    expect(flushed.stdout).toMatch(/^delivered 1, retrying 0, failed 1, waiting 0/);
    expect(flushed.stderr).toContain(
      '1 message could not be delivered and was reported elsewhere: see drkit notify status',
    );
    expect(hooks.requests.filter((r) => r.path === '/spare').map((r) => r.json().kind)).toEqual([
      'opened',
      'undeliverable',
    ]);
  });

  it(
    'flush --wait sends digests when their windows close, ' + 'each incident in one, none before its window ends',
    async () => {
      const opened: number[] = [];
      for (const title of ['a', 'b']) {
        opened.push(Date.now());
        expect((await run(['incident', 'open', '--severity', 'P3', '--title', title])).code).toBe(0);
      }
      const flushed = await run(['notify', 'flush', '--wait', '10s']);
      expect(flushed.code, flushed.stderr).toBe(0);
      const digests = hooks.requests.map((r) => ({ at: r.receivedAt, body: r.json() }));
      expect(digests.every((d) => d.body.kind === 'digest')).toBe(true);
      expect(digests.flatMap((d) => d.body.incidents.map((i: { title: string }) => i.title)).sort()).toEqual([
        'a',
        'b',
      ]);
      // Whether both fell in one 2 s window depends on how fast the machine started the commands; none came early.
      expect(digests[0]!.at - opened[0]!).toBeGreaterThanOrEqual(2_000);
    },
  );

  it('test sends through the outbox and exits 1 when it does not arrive; an unknown channel is named', async () => {
    const ok = await run(['notify', 'test', 'hook']);
    expect(ok.code, ok.stderr).toBe(0);
    // The URL path may hold a token: describe() masks it.
    expect(ok.stdout).toContain(`sent a test message to hook (webhook ${hooks.url}/***)`);
    expect(hooks.requests.map((r) => r.json().kind)).toEqual(['test']);
    hooks.answer({ status: 404 });
    const refused = await run(['notify', 'test', 'spare']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('could not send to spare');
    const unknown = await run(['notify', 'test', 'nope', '--json']);
    expect(unknown.code).toBe(1);
    expect(json(unknown).error).toMatchObject({
      code: 'NOTIFY_UNKNOWN_CHANNEL',
      hint: expect.stringContaining('hook, spare'),
    });
  });
});
