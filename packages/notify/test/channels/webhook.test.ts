import { type RecordingServer, startRecordingServer } from '@drkit/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookChannel } from '../../src/index.js';
import { notification } from './fixtures.js';

describe('generic JSON webhook', () => {
  let server: RecordingServer;
  beforeEach(async () => {
    server = await startRecordingServer();
  });
  afterEach(() => server.stop());

  it(
    "sends the config's headers, and a body carrying the " + 'idempotency key (also as the Idempotency-Key header)',
    async () => {
      const hook = webhookChannel({
        name: 'hook',
        url: `${server.url}/drkit`,
        headers: { Authorization: 'Bearer hook-token-123', 'X-Team': 'ops' },
      });
      const n = notification();
      expect(await hook.send(n, {})).toEqual({ ok: true, receipt: 'HTTP 200' });
      const [r] = server.requests;
      expect(r?.headers).toMatchObject({
        authorization: 'Bearer hook-token-123',
        'x-team': 'ops',
        'idempotency-key': n.idempotencyKey,
        'content-type': 'application/json',
      });
      expect(r?.json()).toEqual(
        JSON.parse(
          JSON.stringify({
            idempotency_key: n.idempotencyKey,
            kind: 'opened',
            severity: 'P1',
            title: n.title,
            text: n.text,
            incidents: n.incidents,
          }),
        ),
      );
      expect(hook.describe()).toBe(`webhook ${server.url}/*** (headers Authorization: ***, X-Team: ***)`);
    },
  );

  it('every attempt of one notification sends the same body, so a receiver can drop a duplicate', async () => {
    server.queue({ status: 503 });
    const hook = webhookChannel({ name: 'hook', url: `${server.url}/drkit` });
    expect((await hook.send(notification(), {})).ok).toBe(false);
    expect((await hook.send(notification(), {})).ok).toBe(true);
    expect(server.requests[0]?.body).toBe(server.requests[1]?.body);
  });
});
