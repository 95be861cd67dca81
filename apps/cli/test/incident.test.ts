// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type RecordingServer,
  type RunningRedis,
  startRecordingServer,
  startRedis,
  tempDir,
} from '@drkit/test-support';
import { drkit } from './cli.js';

let dir: string;
let cleanup: () => Promise<void>;
let hooks: RecordingServer;

/** A config whose every channel is a webhook to the recording server (a path each); P1 and P2 at once. */
function config(extra = '') {
  return `sources: [{ name: data, type: files, path: ./data }]
state: ./state
notify:
  channels:
    pager: { type: webhook, url: "${hooks.url}/pager" }
    ops: { type: webhook, url: "${hooks.url}/ops", headers: { Authorization: "Bearer \${HOOK_TOKEN}" } }
  routes:
    P1: { channels: [pager, ops], within: 0s, repeat_every: 15m }
    P2: { channels: [ops], within: 15m }
${extra}`;
}

const env = { HOOK_TOKEN: 't0ken' };
const run = (args: string[], extra: Record<string, string | undefined> = {}) =>
  drkit(args, { cwd: dir, env: { ...env, ...extra } });
const json = <T = any>(r: { stdout: string }): T => JSON.parse(r.stdout);
const received = (p: string) =>
  hooks.requests
    .filter((r) => r.path === p)
    .map((r) => r.json<{ kind: string; title: string; idempotency_key: string }>());

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-incident-'));
  hooks = await startRecordingServer();
  await writeFile(path.join(dir, 'drkit.config.yaml'), config());
});
afterEach(async () => {
  await hooks.stop();
  await cleanup();
});

describe('drkit incident', () => {
  it('opens a P1, prints its id, and the pager and ops hooks have it before the command ends', async () => {
    const r = await run([
      'incident',
      'open',
      '--severity',
      'P1',
      '--title',
      'Database down',
      '--component',
      'db',
      '--message',
      'primary gone',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(r.stderr).toContain('notifications: 2 sent');
    expect(received('/pager').map((m) => m.title)).toEqual(['P1 opened: Database down']);
    expect(received('/ops')).toHaveLength(1);
    expect(hooks.requests.find((q) => q.path === '/ops')!.headers.authorization).toBe('Bearer t0ken');
    // Stored in the config's state folder, no repository anywhere.
    expect(existsSync(path.join(dir, 'state', 'incidents', `${id}.json`))).toBe(true);

    const shown = await run(['incident', 'show', id.slice(0, 18), '--json']);
    expect(json(shown)).toMatchObject({
      id,
      severity: 'P1',
      status: 'investigating',
      components: ['db'],
      timeline: [{ kind: 'opened', message: 'primary gone' }],
    });
  });

  it(
    'updates, acknowledges and resolves, telling the ' + 'route each time; list shows open ones, --all every one',
    async () => {
      const id = json(await run(['incident', 'open', '--severity', 'P2', '--title', 'Backups late', '--json'])).id;
      const up = await run([
        'incident',
        'update',
        id,
        '--status',
        'identified',
        '--message',
        'disk full on the backup host',
      ]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toContain(`${id}: identified`);
      const note = await run(['incident', 'update', id, '--message', 'paged the storage team', '--internal', '--json']);
      expect(json(note).timeline.at(-1)).toMatchObject({ visibility: 'internal', message: 'paged the storage team' });
      const ack = await run(['incident', 'ack', id, '--by', 'ana', '--json']);
      expect(json(ack)).toMatchObject({ acknowledgedBy: 'ana' });
      const list = await run(['incident', 'list']);
      expect(list.stdout).toMatch(new RegExp(`${id}\\s+P2\\s+identified\\s+\\S+ \\S+\\s+ana\\s+Backups late`));
      const res = await run(['incident', 'resolve', id, '--message', 'space freed', '--json']);
      expect(res.code, res.stderr).toBe(0);
      expect(json(res)).toMatchObject({
        id,
        status: 'resolved',
        resolvedAt: expect.any(String),
        timeline: expect.arrayContaining([expect.objectContaining({ kind: 'resolved', message: 'space freed' })]),
      });
      expect(received('/ops').map((m) => m.kind)).toEqual(['opened', 'updated', 'updated', 'acknowledged', 'resolved']);
      expect((await run(['incident', 'list'])).stdout.trim()).toBe('no open incidents (--all lists resolved ones too)');
      expect(json(await run(['incident', 'list', '--all', '--json'])).map((i: { status: string }) => i.status)).toEqual(
        ['resolved'],
      );

      const again = await run(['incident', 'update', id, '--message', 'more', '--json']);
      expect(again.code).toBe(1);
      expect(json(again).error).toMatchObject({
        code: 'NOTIFY_CLOSED',
        hint: expect.stringContaining('drkit incident open'),
      });
      const missing = await run(['incident', 'ack', 'nope', '--json']);
      expect(json(missing).error.code).toBe('NOTIFY_NOT_FOUND');
    },
  );

  it('with a dedup key, updates the open incident instead of opening another', async () => {
    const a = await run([
      'incident',
      'open',
      '--severity',
      'P2',
      '--title',
      'RPO exceeded',
      '--dedup-key',
      'rpo:data',
      '--message',
      '2 h',
    ]);
    const b = await run([
      'incident',
      'open',
      '--severity',
      'P2',
      '--title',
      'RPO exceeded',
      '--dedup-key',
      'rpo:data',
      '--message',
      '3 h',
    ]);
    expect(b.stdout.trim()).toBe(`${a.stdout.trim()} (already open: updated)`);
    expect(json(await run(['incident', 'list', '--json']))).toHaveLength(1);
  });

  it('refuses bad flags as usage errors (exit 2)', async () => {
    const r = await run(['incident', 'open', '--severity', 'P0', '--title', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are P1, P2, P3, P4/);
    expect((await run(['incident', 'open', '--severity', 'P1'])).code).toBe(2);
  });

  it('uses DRKIT_STATE over the config, and works with no config at all (nobody is told)', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    const r = await run(['incident', 'open', '--severity', 'P3', '--title', 'x'], { DRKIT_STATE: elsewhere });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(elsewhere, 'incidents', `${r.stdout.trim()}.json`))).toBe(true);
    const bare = await drkit(['incident', 'open', '--severity', 'P1', '--title', 'no config'], { cwd: elsewhere });
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr).toContain('no notify channels are configured');
    expect(existsSync(path.join(elsewhere, 'drkit-state', 'incidents', `${bare.stdout.trim()}.json`))).toBe(true);
  });
});

describe('drkit incident on a Redis state store', () => {
  let redis: RunningRedis;
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(() => redis.stop());

  it('opens, lists and resolves through state: redis://', async () => {
    await writeFile(path.join(dir, 'drkit.config.yaml'), config().replace('state: ./state', `state: ${redis.url}/3`));
    const id = (await run(['incident', 'open', '--severity', 'P1', '--title', 'On Redis'])).stdout.trim();
    expect(json(await run(['incident', 'list', '--json']))[0].id).toBe(id);
    expect((await run(['incident', 'resolve', id])).code).toBe(0);
    expect(await redis.client(3).exists(`{drkit-state}:doc:incidents/${id}`)).toBe(1);
    expect(existsSync(path.join(dir, 'state'))).toBe(false);
  });
});

describe('bad notify config', () => {
  it.each([
    [
      'an unknown channel in a route',
      (c: string) => c.replace('channels: [pager, ops]', 'channels: [pager, pagr]'),
      'notify.routes.P1.channels[1]: unknown channel "pagr". Did you mean "pager"?',
    ],
    [
      'a malformed SMTP URL',
      (c: string) =>
        c.replace(
          '  routes:',
          '    mail: { type: email, smtp_url: "smtp//drkit:${HOOK_TOKEN}@mail:587", from: a@example.com, ' +
            'to: [b@example.com] }\n  routes:',
        ),
      'notify.channels.mail.smtp_url: the SMTP URL is not a URL (it must start with smtp:// or smtps://). Fix:',
    ],
    [
      'a missing ${ENV}',
      (c: string) => c,
      'notify.channels.ops.headers.Authorization: environment variable HOOK_TOKEN is not set. Fix: set it',
    ],
  ])('%s: a config error naming the key and the fix, before anything is written or sent', async (_, edit, message) => {
    await writeFile(path.join(dir, 'drkit.config.yaml'), edit(config()));
    const r = await run(
      ['incident', 'open', '--severity', 'P1', '--title', 'x', '--json'],
      message.includes('HOOK_TOKEN is not set') ? { HOOK_TOKEN: undefined } : {},
    );
    expect(r.code).toBe(1);
    expect(json(r).error.code).toMatch(/^CONFIG_(INVALID|ENV_MISSING)$/);
    expect(json(r).error.message).toContain(message);
    expect(r.stdout).not.toContain('t0ken');
    expect(hooks.requests).toEqual([]);
    expect(existsSync(path.join(dir, 'state'))).toBe(false);
  });
});
