import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type RecordingServer, type SmtpTestServer, startRecordingServer, startSmtpServer, tempDir } from '@drkit/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChannelConfig, ChannelErrorCode, type Contact, createChannel, createChannels, sendTestNotification } from '../../src/index.js';
import { pagerDutyEventSchema } from './pagerduty-events-schema.js';

const SID = 'AC0123456789abcdef0123456789abcdef';
const contacts: Contact[] = [{ role: 'devops-lead', name: 'Ana Lima', phone: '+15550111', email: 'ana@example.com' }];
const contact = (role: string) => contacts.find((c) => c.role === role);

describe('channels from notify.channels, and the `notify test` send path', () => {
  let http: RecordingServer;
  let smtp: SmtpTestServer;
  let dir: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    http = await startRecordingServer({ answer: (r) => ({ status: r.path.includes('/Accounts/') ? 201 : 202, body: { sid: 'CA1', status: 'success' } }) });
    smtp = await startSmtpServer({ users: { drkit: 'mail-password' } });
    dir = await tempDir();
    await writeFile(path.join(dir.dir, 'ca.pem'), smtp.cert);
  });
  afterAll(async () => {
    await http.stop();
    await smtp.stop();
    await dir.cleanup();
  });

  const config = (): Record<string, ChannelConfig> => ({
    'ops-slack': { type: 'slack', webhook_url: `${http.url}/services/T0/B0/slack-secret`, timeout: '5s' },
    'ops-email': { type: 'email', smtp_url: `smtp://drkit:mail-password@127.0.0.1:${smtp.port}`, from: 'drkit@example.com', to: ['role:devops-lead'], ca_file: 'ca.pem' },
    pager: { type: 'pagerduty', routing_key: 'e93facc04764012d7bfb002500d5d1a6', events_url: `${http.url}/v2/enqueue` },
    phone: { type: 'twilio', account_sid: SID, auth_token: 'twilio-token', from: '+15550100', to: ['role:devops-lead'], sms: false, base_url: http.url },
    hook: { type: 'webhook', url: `${http.url}/hook`, headers: { authorization: 'Bearer hook-token' } },
    log: { type: 'console' },
  });

  it('builds every type, and a test notification through each reaches its receiver', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (c) => (printed += c));
    const channels = createChannels(config(), { contact, console: out, baseDir: dir.dir });
    expect([...channels.values()].map((c) => [c.name, c.type])).toEqual([
      ['ops-slack', 'slack'],
      ['ops-email', 'email'],
      ['pager', 'pagerduty'],
      ['phone', 'twilio'],
      ['hook', 'webhook'],
      ['log', 'console'],
    ]);
    for (const channel of channels.values()) {
      const { notification, delivery } = await sendTestNotification(channel);
      expect({ channel: channel.name, ok: delivery.ok }).toEqual({ channel: channel.name, ok: true });
      expect(notification).toMatchObject({ kind: 'test', severity: 'P4', title: `drkit test notification for channel "${channel.name}"`, incidents: [] });
    }
    expect(smtp.messages.map((m) => [m.to, m.parsed.subject])).toEqual([[['ana@example.com'], '[drkit] drkit test notification for channel "ops-email"']]);
    const byPath = (p: string) => http.requests.filter((r) => r.path.endsWith(p));
    expect(byPath('/slack-secret')[0]?.json().blocks[0].text.text).toBe('drkit test notification for channel "ops-slack"');
    expect(pagerDutyEventSchema.parse(byPath('/v2/enqueue')[0]?.json())).toMatchObject({ event_action: 'trigger', payload: { severity: 'info' } });
    expect(byPath('/Calls.json').map((r) => r.form().get('To'))).toEqual(['+15550111']);
    expect(byPath('/Messages.json')).toEqual([]);
    expect(byPath('/hook')[0]?.headers.authorization).toBe('Bearer hook-token');
    expect(printed).toContain('[drkit] drkit test notification for channel "log" (test)');
  });

  it('a test that fails says why, classified, without throwing', async () => {
    http.queue({ status: 404, body: 'no_service' });
    const { delivery } = await sendTestNotification(createChannel('ops-slack', config()['ops-slack']!));
    expect(delivery).toEqual({ ok: false, retryable: false, error: `${http.url}/*** answered 404: no_service` });
  });

  it('takes the timeout from the entry', async () => {
    http.queue({ hang: true });
    const hook = createChannel('hook', { type: 'webhook', url: `${http.url}/hook`, timeout: '1s' });
    expect((await sendTestNotification(hook)).delivery).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('within 1 s') });
  });

  it('a ca_file that cannot be read fails when the channels are built, naming the entry', () => {
    const entries = { ...config(), 'ops-email': { ...(config()['ops-email'] as Extract<ChannelConfig, { type: 'email' }>), ca_file: 'missing.pem' } };
    expect(() => createChannels(entries, { baseDir: dir.dir })).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.CA_FILE, message: `notify.channels.ops-email.ca_file: cannot read ${path.join(dir.dir, 'missing.pem')} (ENOENT)` }),
    );
  });

  it('a malformed URL fails when the channels are built, naming the entry and the field, never the value', () => {
    expect(() => createChannel('ops-email', { type: 'email', smtp_url: 'smtp://drkit:hunter22@', from: 'a@example.com', to: ['b@example.com'] })).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.BAD_SMTP_URL, message: 'notify.channels.ops-email: smtp_url has no host' }),
    );
    expect(() => createChannel('hook', { type: 'webhook', url: 'ftp://secret-token@example.com' })).toThrow(
      expect.objectContaining({ code: ChannelErrorCode.BAD_URL, message: 'notify.channels.hook: url is not an http:// or https:// URL' }),
    );
  });
});
