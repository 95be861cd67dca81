import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Clock, Notifier, type OutboxRecord, summarySchema, systemClock } from '@drkit/notify';
import { openStateStore } from '@drkit/state';
import { type RunningS3, S3_TEST_CREDENTIALS, startS3Server, tempDir } from '@drkit/test-support';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drkit } from './cli.js';

const BUCKET = 'status-page';
const TITLE = '<b>Uploads</b> & "downloads" fail';
let s3: RunningS3;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
});
afterAll(() => s3?.stop());
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-status-page-cli-'));
});
afterEach(() => cleanup());

const config = (target: string | undefined) => `
sources: [{ name: data, type: files, path: ./data }]
state: ./state
notify:
  channels:
    ops-hook: { type: webhook, url: "http://127.0.0.1:9/hook" }
  routes:
    P1: { channels: [ops-hook], within: 0s }
status_page:
  title: Acme
  components:
    - { name: storage, description: File uploads and downloads }
    - { name: api }
${target ? `  target: ${target}\n` : ''}`;

const env = {
  AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-east-1',
};
const run = (args: string[]) => drkit(args, { cwd: dir, env });

/** Works on the state store the CLI reads, as another drkit process would, at a chosen time. */
async function withNotifier<T>(minutesAgo: number, use: (n: Notifier) => Promise<T>): Promise<T> {
  const store = await openStateStore(path.join(dir, 'state'));
  const clock: Clock = { ...systemClock, now: () => Date.now() - minutesAgo * 60_000 };
  try {
    return await use(new Notifier({ store, clock, log: () => {} }));
  } finally {
    await store.close();
  }
}

async function outbox(): Promise<OutboxRecord[]> {
  return withNotifier(0, async (n) => (await n.outbox.all()).map((r) => r.record));
}

describe('drkit status-page', () => {
  it(
    'publish to S3: a P1 without a public update for 45 minutes makes the page stale and queues one reminder ' +
      'per period to its channels; an update makes it current',
    async () => {
      await writeFile(path.join(dir, 'drkit.config.yaml'), config(`"s3:${s3.endpoint}/${BUCKET}/acme"`));
      const incident = (
        await withNotifier(45, (n) =>
          n.open({ title: TITLE, severity: 'P1', components: ['storage'], message: 'Uploads time out.', by: 'ana' }),
        )
      ).incident!;

      const first = await run(['status-page', 'publish', '--json']);
      expect(first.stderr).toContain(
        `drkit: stale: ${incident.id} "${TITLE}" (P1) has had no public update for 45 min (promised every 30 ` +
          `min); the page says so. A reminder is queued to its channels.`,
      );
      expect(first.code).toBe(0);
      const out = JSON.parse(first.stdout);
      expect(out).toMatchObject({
        target: `s3:${s3.endpoint}/${BUCKET}/acme`,
        files: ['summary.json', 'index.html'],
        status: { indicator: 'critical' },
        open_incidents: 1,
      });
      expect(out.stale).toEqual([
        {
          incident_id: incident.id,
          title: TITLE,
          severity: 'P1',
          last_public_update_at: incident.openedAt,
          minutes_since: 45,
        },
      ]);

      expect((await s3.listKeys(BUCKET, 'acme/')).sort()).toEqual(['acme/index.html', 'acme/summary.json']);
      expect((await s3.objectHeaders(BUCKET, 'acme/index.html')).get('content-type')).toBe('text/html; charset=utf-8');
      const summary = summarySchema.parse(JSON.parse((await s3.getObject(BUCKET, 'acme/summary.json')).toString()));
      expect(summary.components.map((c) => [c.name, c.status])).toEqual([
        ['storage', 'major_outage'],
        ['api', 'operational'],
      ]);
      expect(summary.drkit.stale.map((s) => s.incident_id)).toEqual([incident.id]);
      const html = (await s3.getObject(BUCKET, 'acme/index.html')).toString();
      expect(html).toContain('This page may be out of date');
      expect(html).toContain('&#60;b&#62;Uploads&#60;/b&#62; &#38; &#34;downloads&#34; fail');

      // The reminder went through the outbox to the P1 route's
      // channel, and a second publish in the same period adds none.
      const reminders = async () => (await outbox()).filter((r) => r.notification.kind === 'reminder');
      expect((await reminders()).map((r) => [r.channel, r.state, r.notification.text])).toEqual([
        ['ops-hook', 'pending', expect.stringContaining(`no public update on this P1 for 45 min`)],
      ]);
      expect((await run(['status-page', 'publish'])).code).toBe(0);
      expect(await reminders()).toHaveLength(1);

      await withNotifier(0, (n) =>
        n.update(incident.id, { message: 'Failing over to the replica.', status: 'identified', by: 'ana' }),
      );
      const fresh = await run(['status-page', 'publish', '--json']);
      expect(fresh.code).toBe(0);
      expect(fresh.stderr).not.toContain('stale');
      expect(JSON.parse(fresh.stdout).stale).toEqual([]);
      const after = summarySchema.parse(JSON.parse((await s3.getObject(BUCKET, 'acme/summary.json')).toString()));
      expect(after.drkit.stale).toEqual([]);
      expect(after.incidents[0]!.incident_updates.map((u) => [u.status, u.body])).toEqual([
        ['identified', 'Failing over to the replica.'],
        ['investigating', 'Uploads time out.'],
      ]);
      expect(await reminders()).toHaveLength(1);
    },
  );

  it(
    'build --out writes the page into a folder and sends ' + 'nothing; publish to a folder target works the same',
    async () => {
      await writeFile(path.join(dir, 'drkit.config.yaml'), config('./public/status'));
      await withNotifier(45, (n) => n.open({ title: TITLE, severity: 'P2', components: ['api'], by: 'ana' }));
      const built = await run(['status-page', 'build', '--out', 'preview']);
      expect(built.code).toBe(0);
      expect(built.stdout).toContain(`summary.json and index.html written to ${path.join(dir, 'preview')}`);
      expect(built.stdout).toContain('Partial System Outage: 1 open incident(s)');
      expect(built.stderr).not.toContain('reminder');
      expect(
        summarySchema.parse(JSON.parse(await readFile(path.join(dir, 'preview/summary.json'), 'utf8'))).drkit.stale,
      ).toHaveLength(1);
      expect(await outbox()).toEqual([]);

      expect((await run(['status-page', 'publish'])).code).toBe(0);
      expect(existsSync(path.join(dir, 'public/status/index.html'))).toBe(true);
      expect(await readFile(path.join(dir, 'public/status/summary.json'), 'utf8')).toContain('"indicator": "major"');
    },
  );

  it('publish without a target is a usage error that says where to set one', async () => {
    await writeFile(path.join(dir, 'drkit.config.yaml'), config(undefined));
    const result = await run(['status-page', 'publish', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error).toMatchObject({
      code: 'CLI_USAGE',
      message: expect.stringContaining('No status page target'),
      hint: expect.stringContaining('status_page.target'),
    });
  });
});
