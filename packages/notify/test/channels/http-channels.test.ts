import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { type RecordingServer, startRecordingServer } from '@drkit/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Channel,
  type Delivery,
  pagerDutyChannel,
  slackChannel,
  twilioChannel,
  webhookChannel,
} from '../../src/index.js';
import { notification } from './fixtures.js';

// Each test makes its own secret, so a leak cannot be hidden by an earlier test's masking.
const secret = () => `s3cret-${randomBytes(8).toString('hex')}`;
const SID = 'AC0123456789abcdef0123456789abcdef';
const NOW = Date.parse('2026-12-06T16:00:00Z');

interface Adapter {
  type: string;
  okStatus: number;
  make(url: string, secret: string, options?: { timeoutMs?: number }): Channel;
  /** Encodings of the secret a receiver could echo (Twilio's basic auth header). */
  forms?(secret: string): string[];
}

// The four HTTP receivers share one rule set: 2xx delivered; 408, 429, 5xx retryable; other 4xx permanent.
const adapters: Adapter[] = [
  {
    type: 'slack',
    okStatus: 200,
    make: (url, s, o) =>
      slackChannel({ name: 'ops-slack', webhookUrl: `${url}/services/T0DRKIT/B0DRKIT/${s}`, now: () => NOW, ...o }),
  },
  {
    type: 'pagerduty',
    okStatus: 202,
    make: (url, s, o) =>
      pagerDutyChannel({ name: 'pager', routingKey: s, eventsUrl: `${url}/v2/enqueue`, now: () => NOW, ...o }),
  },
  {
    type: 'twilio',
    okStatus: 201,
    make: (url, s, o) =>
      twilioChannel({
        name: 'phone',
        accountSid: SID,
        authToken: s,
        from: '+15550100',
        to: ['+15550199'],
        baseUrl: url,
        now: () => NOW,
        ...o,
      }),
    forms: (s) => [Buffer.from(`${SID}:${s}`).toString('base64')],
  },
  {
    type: 'webhook',
    okStatus: 200,
    make: (url, s, o) =>
      webhookChannel({
        name: 'hook',
        url: `${url}/hooks/${s}?token=${s}`,
        headers: { authorization: `Bearer ${s}` },
        now: () => NOW,
        ...o,
      }),
  },
];

function failure(d: Delivery): Extract<Delivery, { ok: false }> {
  expect(d.ok).toBe(false);
  return d as Extract<Delivery, { ok: false }>;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe.each(adapters)('$type over HTTP', (adapter) => {
  let server: RecordingServer;
  let key: string;
  beforeEach(async () => {
    server = await startRecordingServer({
      answer: { status: adapter.okStatus, body: { sid: 'SM0001', status: 'success', dedup_key: 'x' } },
    });
    key = secret();
  });
  afterEach(() => server.stop());

  const expectMasked = (channel: Channel, text: string) => {
    for (const s of [key, ...(adapter.forms?.(key) ?? [])]) {
      expect(text).not.toContain(s);
      expect(channel.describe()).not.toContain(s);
    }
  };

  it(`delivers on ${adapter.okStatus}`, async () => {
    const delivery = await adapter.make(server.url, key).send(notification(), {});
    expect(delivery.ok).toBe(true);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.method === 'POST')).toBe(true);
  });

  it.each([400, 401, 403, 404, 410, 301])('%i is permanent, and says what the receiver answered', async (status) => {
    server.answer({
      status,
      body: `refused with ${status}`,
      headers: status === 301 ? { location: `${server.url}/elsewhere` } : {},
    });
    const f = failure(await adapter.make(server.url, key).send(notification(), {}));
    expect(f.retryable).toBe(false);
    expect(f.error).toContain(`answered ${status}: refused with ${status}`);
    expect(server.requests.every((r) => r.path !== '/elsewhere')).toBe(true);
  });

  it.each([408, 429, 500, 502, 503])(
    '%i is retryable, after Retry-After when the receiver sends one',
    async (status) => {
      server.answer({ status, headers: { 'retry-after': '7' } });
      const f = failure(await adapter.make(server.url, key).send(notification(), {}));
      expect(f).toMatchObject({ retryable: true, retryAfterMs: 7000 });
      server.answer({ status, headers: { 'retry-after': new Date(NOW + 5000).toUTCString() } });
      expect(failure(await adapter.make(server.url, key).send(notification(), {}))).toMatchObject({
        retryable: true,
        retryAfterMs: 5000,
      });
    },
  );

  it('a connection reset before the answer is retryable', async () => {
    server.answer({ reset: true });
    const f = failure(await adapter.make(server.url, key).send(notification(), {}));
    expect(f.retryable).toBe(true);
    expect(server.requests.length).toBeGreaterThan(0);
  });

  it('a receiver that is down is retryable', async () => {
    const f = failure(await adapter.make(`http://127.0.0.1:${await closedPort()}`, key).send(notification(), {}));
    expect(f.retryable).toBe(true);
    expect(f.error).toContain('ECONNREFUSED');
    expectMasked(adapter.make(server.url, key), f.error);
  });

  it('no answer within the timeout is retryable', async () => {
    server.answer({ hang: true });
    const f = failure(await adapter.make(server.url, key, { timeoutMs: 200 }).send(notification(), {}));
    expect(f.retryable).toBe(true);
    expect(f.error).toContain('within 0.2 s');
  });

  it("the caller's AbortSignal ends a send at once, retryable", async () => {
    server.answer({ hang: true });
    const controller = new AbortController();
    const sending = adapter.make(server.url, key).send(notification(), { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    const f = failure(await sending);
    expect(f.retryable).toBe(true);
    expect(f.error).toContain('cancelled');
  });

  it('never shows a secret, even when the receiver echoes the whole request in its error', async () => {
    server.answer((r) => ({
      status: 400,
      body: `${r.method} ${r.path}${r.query.size ? `?${r.query}` : ''} ${JSON.stringify(r.headers)} ${r.body}`,
    }));
    const channel = adapter.make(server.url, key);
    const f = failure(await channel.send(notification(), {}));
    expect(f.error).toContain('***');
    expectMasked(channel, f.error);
    expectMasked(channel, JSON.stringify(f));
  });
});
