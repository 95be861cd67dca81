import { type RecordingServer, startRecordingServer } from '@drkit/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContactConfig } from '@drkit/config';
import { twilioChannel, type TwilioChannelOptions } from '../../src/index.js';
import { notification } from './fixtures.js';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token-0123456789';
const contacts: ContactConfig[] = [
  { role: 'devops-lead', name: 'Ana Lima', phone: '+15550111', email: 'ana@example.com' },
];
const contact = (role: string) => contacts.find((c) => c.role === role);

describe('Twilio voice call + SMS', () => {
  let server: RecordingServer;
  beforeEach(async () => {
    server = await startRecordingServer({
      answer: (r) => ({
        status: 201,
        body: { sid: `${r.path.endsWith('Calls.json') ? 'CA' : 'SM'}${r.form().get('To')}` },
      }),
    });
  });
  afterEach(() => server.stop());

  const phone = (o: Partial<TwilioChannelOptions> = {}) =>
    twilioChannel({
      name: 'phone',
      accountSid: SID,
      authToken: TOKEN,
      from: '+15550100',
      to: ['+15550199', 'role:devops-lead'],
      contact,
      baseUrl: server.url,
      ...o,
    });

  it('calls each number with TwiML that says the title, and texts it, with basic auth', async () => {
    const n = notification({ title: 'Redis <cache> & "sessions" down' });
    expect(await phone().send(n, {})).toEqual({
      ok: true,
      receipt: 'CA+15550199, SM+15550199, CA+15550111, SM+15550111',
    });
    expect(server.requests.map((r) => [r.path, r.form().get('To')]).sort()).toEqual([
      [`/2010-04-01/Accounts/${SID}/Calls.json`, '+15550111'],
      [`/2010-04-01/Accounts/${SID}/Calls.json`, '+15550199'],
      [`/2010-04-01/Accounts/${SID}/Messages.json`, '+15550111'],
      [`/2010-04-01/Accounts/${SID}/Messages.json`, '+15550199'],
    ]);
    const call = server.requests.find((r) => r.path.endsWith('Calls.json'));
    const sms = server.requests.find((r) => r.path.endsWith('Messages.json'));
    expect(call?.headers.authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    expect(call?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(call?.form().get('From')).toBe('+15550100');
    expect(call?.form().get('Twiml')).toBe(
      '<Response><Say loop="2">drkit alert. Redis &lt;cache&gt; &amp; &quot;sessions&quot; down.</Say></Response>',
    );
    expect(sms?.form().get('Body')).toBe(`[drkit] Redis <cache> & "sessions" down\n${n.text}`);
  });

  it('calls for what needs a person now (opened, reminder, escalated, test); only texts the rest', async () => {
    const kinds = [
      'opened',
      'reminder',
      'escalated',
      'test',
      'updated',
      'acknowledged',
      'resolved',
      'digest',
      'undeliverable',
    ] as const;
    for (const kind of kinds) await phone({ to: ['+15550199'] }).send(notification({ kind, idempotencyKey: kind }), {});
    expect(server.requests.filter((r) => r.path.endsWith('Calls.json')).length).toBe(4);
    expect(server.requests.filter((r) => r.path.endsWith('Messages.json')).length).toBe(kinds.length);
  });

  it('a retry calls and texts only whom Twilio did not accept, so nobody is called twice', async () => {
    server.answer((r) =>
      r.form().get('To') === '+15550111' && r.path.endsWith('Calls.json')
        ? { status: 503, body: 'Service Unavailable' }
        : { status: 201, body: { sid: `X${r.n}` } },
    );
    const channel = phone();
    const first = await channel.send(notification(), {});
    expect(first).toMatchObject({ ok: false, retryable: true });
    expect((first as { error: string }).error).toMatch(
      // long-line: a regex over the whole message, as the user reads it
      /^call \+15550111: .* answered 503: Service Unavailable \(delivered: call \+15550199, sms \+15550199, sms \+15550111\)$/,
    );
    server.answer({ status: 201, body: { sid: 'CA9' } });
    expect(await channel.send(notification(), {})).toEqual({ ok: true, receipt: 'CA9' });
    expect(server.requests.length).toBe(5);
  });

  it("an invalid number (Twilio's 400, code 21211) is permanent and named", async () => {
    server.answer({
      status: 400,
      body: { code: 21211, message: "The 'To' number +15550199 is not a valid phone number.", status: 400 },
    });
    const d = await phone({ to: ['+15550199'], call: false }).send(notification(), {});
    expect(d).toMatchObject({ ok: false, retryable: false });
    expect((d as { error: string }).error).toContain("The 'To' number +15550199 is not a valid phone number.");
  });

  it('a role no contact has a phone for is reported, and everyone else still gets the message', async () => {
    const d = await phone({ to: ['+15550199', 'role:dba'] }).send(notification(), {});
    expect(d).toEqual({
      ok: false,
      retryable: false,
      error: 'role:dba (no contact with that role has a phone): not sent (delivered: call +15550199, sms +15550199)',
    });
    expect(server.requests.length).toBe(2);
  });

  it('describes where it sends, the token masked', () => {
    expect(phone().describe()).toBe(
      `twilio call + sms from +15550100 to +15550199, role:devops-lead via ${server.url} (account ${SID}, ` +
        `auth token ***)`,
    );
  });
});
