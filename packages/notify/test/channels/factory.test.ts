// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type ChannelConfig, type DrkitConfig, parseConfigText } from '@drkit/config';
import { FolderStateStore } from '@drkit/state';
import {
  type RecordingServer,
  type SmtpTestServer,
  startRecordingServer,
  startSmtpServer,
  tempDir,
} from '@drkit/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelErrorCode, createChannel, createChannels, Notifier } from '../../src/index.js';
import { pagerDutyEventSchema } from './pagerduty-events-schema.js';

const SID = 'AC0123456789abcdef0123456789abcdef';
const SECRETS = {
  SLACK_TOKEN: 'slack-secret-token',
  SMTP_PASSWORD: 'mail-p@ss/word',
  PD_ROUTING_KEY: 'e93facc04764012d7bfb002500d5d1a6',
  TWILIO_TOKEN: 'twilio-token-123',
  HOOK_TOKEN: 'hook-token-456',
};

describe('channels built from drkit.config.yaml, and `notify test` through the outbox', () => {
  let http: RecordingServer;
  let smtp: SmtpTestServer;
  let dir: { dir: string; cleanup: () => Promise<void> };
  let config: DrkitConfig;
  beforeAll(async () => {
    http = await startRecordingServer({
      answer: (r) => ({ status: r.path.includes('/Accounts/') ? 201 : 202, body: { sid: 'CA1', status: 'success' } }),
    });
    smtp = await startSmtpServer({ users: { drkit: SECRETS.SMTP_PASSWORD } });
    dir = await tempDir();
    await writeFile(path.join(dir.dir, 'ca.pem'), smtp.cert);
    const yaml =
      `
sources: [{ name: data, type: files, path: ./data }]
contacts:
  - { role: devops-lead, name: Ana Lima, phone: "+15550111", email: ana@example.com }
notify:
  channels:
    ops-slack: { type: slack, webhook_url: "${http.url}/services/T0/B0/\${SLACK_TOKEN}", timeout: 5s }
    ops-email: { type: email, smtp_url: "smtp://drkit:\${SMTP_PASSWORD}@127.0.0.1:${smtp.port}", from: ` +
      `drkit@example.com, to: [role:devops-lead], ca_file: ca.pem }
    pager: { type: pagerduty, routing_key: "\${PD_ROUTING_KEY}", events_url: "${http.url}/v2/enqueue" }
    phone: { type: twilio, account_sid: ${SID}, auth_token: "\${TWILIO_TOKEN}", from: "+15550100", to: ` +
      `[role:devops-lead], sms: false, base_url: "${http.url}" }
    hook: { type: webhook, url: "${http.url}/hook", headers: { Authorization: "Bearer \${HOOK_TOKEN}" } }
    log: { type: console }
`;
    config = parseConfigText(yaml, path.join(dir.dir, 'drkit.config.yaml'), SECRETS);
  });
  afterAll(async () => {
    await http.stop();
    await smtp.stop();
    await dir.cleanup();
  });

  const contact = (role: string) => config.contacts?.find((c) => c.role === role);

  it('builds every type; a test through each (written to the outbox first) reaches its receiver', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (c) => (printed += c));
    const channels = createChannels(config.notify!.channels, { contact, console: out });
    expect([...channels.values()].map((c) => [c.name, c.type])).toEqual([
      ['ops-slack', 'slack'],
      ['ops-email', 'email'],
      ['pager', 'pagerduty'],
      ['phone', 'twilio'],
      ['hook', 'webhook'],
      ['log', 'console'],
    ]);
    for (const c of channels.values())
      for (const secret of Object.values(SECRETS)) expect(c.describe()).not.toContain(secret);
    const notifier = new Notifier({
      store: new FolderStateStore(path.join(dir.dir, 'state')),
      channels,
      log: () => {},
    });
    for (const name of channels.keys()) {
      const { record } = await notifier.test(name);
      expect({ name, state: record.state, error: record.lastError }).toEqual({
        name,
        state: 'delivered',
        error: undefined,
      });
    }
    expect(smtp.messages.map((m) => [m.to, m.secure, m.parsed.subject])).toEqual([
      [['ana@example.com'], true, '[drkit] drkit test notification'],
    ]);
    const at = (p: string) => http.requests.filter((r) => r.path.endsWith(p));
    expect(at(`/${SECRETS.SLACK_TOKEN}`)[0]?.json().blocks[0].text.text).toBe('drkit test notification');
    expect(pagerDutyEventSchema.parse(at('/v2/enqueue')[0]?.json())).toMatchObject({
      event_action: 'trigger',
      routing_key: SECRETS.PD_ROUTING_KEY,
      payload: { severity: 'info' },
    });
    expect(at('/Calls.json').map((r) => r.form().get('To'))).toEqual(['+15550111']);
    expect(at('/Messages.json')).toEqual([]);
    expect(at('/hook')[0]?.headers.authorization).toBe(`Bearer ${SECRETS.HOOK_TOKEN}`);
    expect(printed).toContain('[drkit] drkit test notification (test)');
  });

  it('a failed send is classified, not thrown, and its error shows no secret', async () => {
    http.queue({ status: 404, body: `no_service for ${SECRETS.SLACK_TOKEN}` });
    const slack = createChannel('ops-slack', config.notify!.channels['ops-slack']!);
    const delivery = await slack.send(
      { idempotencyKey: 't1', kind: 'test', severity: 'P4', title: 't', text: 't', incidents: [] },
      {},
    );
    expect(delivery).toEqual({
      ok: false,
      retryable: false,
      error: `${http.url}/*** answered 404: no_service for ***`,
    });
  });

  it('takes the timeout from the entry', async () => {
    http.queue({ hang: true });
    const hook = createChannel('hook', { type: 'webhook', url: `${http.url}/hook`, timeout: '1s' });
    const delivery = await hook.send(
      { idempotencyKey: 't2', kind: 'test', severity: 'P4', title: 't', text: 't', incidents: [] },
      {},
    );
    expect(delivery).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('within 1 s') });
  });

  it('a ca_file that cannot be read fails when the channels are built, naming the entry', () => {
    const email = config.notify!.channels['ops-email'] as Extract<ChannelConfig, { type: 'email' }>;
    const missing = path.join(dir.dir, 'missing.pem');
    expect(() => createChannels({ ...config.notify!.channels, 'ops-email': { ...email, ca_file: missing } })).toThrow(
      expect.objectContaining({
        code: ChannelErrorCode.CA_FILE,
        message: `notify.channels.ops-email.ca_file: cannot read ${missing} (ENOENT)`,
      }),
    );
  });

  it(
    'a malformed URL given straight to the factory fails when built, naming the entry and the field, never ' +
      'the value',
    () => {
      expect(() =>
        createChannel('ops-email', {
          type: 'email',
          smtp_url: 'smtp://drkit:hunter22@',
          from: 'a@example.com',
          to: ['b@example.com'],
        }),
      ).toThrow(
        expect.objectContaining({
          code: ChannelErrorCode.BAD_SMTP_URL,
          message: 'notify.channels.ops-email: smtp_url has no host',
        }),
      );
      expect(() => createChannel('hook', { type: 'webhook', url: 'ftp://secret-token@example.com' })).toThrow(
        expect.objectContaining({
          code: ChannelErrorCode.BAD_URL,
          message: 'notify.channels.hook: url is not an http:// or https:// URL',
        }),
      );
    },
  );
});
