import { type RecordingServer, startRecordingServer } from '@drkit/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Notification, PAGERDUTY_EVENTS_URL, pagerDutyChannel, SEVERITIES } from '../../src/index.js';
import { incident, notification } from './fixtures.js';
import { pagerDutyEventSchema } from './pagerduty-events-schema.js';

const ROUTING_KEY = 'e93facc04764012d7bfb002500d5d1a6';
const accepted = { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: 'x' } };

describe('PagerDuty Events API v2', () => {
  let server: RecordingServer;
  beforeEach(async () => {
    server = await startRecordingServer({ answer: accepted });
  });
  afterEach(() => server.stop());

  const pager = () =>
    pagerDutyChannel({
      name: 'pager',
      routingKey: ROUTING_KEY,
      eventsUrl: `${server.url}/v2/enqueue`,
      source: 'app-1.example.com',
    });
  const events = () => server.requests.map((r) => pagerDutyEventSchema.parse(r.json()));

  it(
    'sends trigger, acknowledge and resolve with dedup_key = the incident id, each valid against the Events ' +
      'v2 schema',
    async () => {
      const open = incident();
      const channel = pager();
      for (const [kind, status] of [
        ['opened', 'investigating'],
        ['acknowledged', 'investigating'],
        ['resolved', 'resolved'],
      ] as const)
        expect(
          await channel.send(notification({ kind, idempotencyKey: `k-${kind}`, incidents: [{ ...open, status }] }), {}),
        ).toEqual({ ok: true, receipt: `dedup_key ${open.id}` });
      const sent = events();
      expect(sent.map((e) => [e.event_action, e.dedup_key])).toEqual([
        ['trigger', open.id],
        ['acknowledge', open.id],
        ['resolve', open.id],
      ]);
      expect(sent[0]).toMatchObject({
        routing_key: ROUTING_KEY,
        client: 'drkit',
        payload: {
          summary: `P1 ${open.title}`,
          source: 'app-1.example.com',
          severity: 'critical',
          timestamp: open.openedAt,
          component: 'backup, data',
          class: 'opened',
        },
      });
      expect(
        server.requests.every((r) => r.path === '/v2/enqueue' && r.headers['content-type'] === 'application/json'),
      ).toBe(true);
    },
  );

  it('maps P1–P4 to critical, error, warning, info', async () => {
    const channel = pager();
    for (const severity of SEVERITIES)
      await channel.send(notification({ severity, incidents: [incident({ id: `inc-${severity}`, severity })] }), {});
    expect(events().map((e) => (e.event_action === 'trigger' ? e.payload.severity : undefined))).toEqual([
      'critical',
      'error',
      'warning',
      'info',
    ]);
  });

  it('a digest sends one event per incident; a retry sends only those PagerDuty did not accept', async () => {
    const digest: Notification = notification({
      kind: 'digest',
      severity: 'P3',
      title: '3 incidents',
      incidents: [
        incident({ id: 'a', severity: 'P3' }),
        incident({ id: 'b', severity: 'P3', status: 'resolved' }),
        incident({ id: 'c', severity: 'P3' }),
      ],
    });
    server.answer((r) => (r.json().dedup_key === 'c' ? { status: 503, headers: { 'retry-after': '3' } } : accepted));
    const channel = pager();
    const first = await channel.send(digest, {});
    expect(first).toMatchObject({ ok: false, retryable: true, retryAfterMs: 3000 });
    expect((first as { error: string }).error).toContain('trigger c: ');
    expect((first as { error: string }).error).toContain('(delivered: trigger a, resolve b)');
    expect(events().map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', 'a'],
      ['resolve', 'b'],
      ['trigger', 'c'],
    ]);
    server.answer(accepted);
    expect(await channel.send(digest, {})).toMatchObject({ ok: true });
    expect(server.requests.slice(3).map((r) => r.json().dedup_key)).toEqual(['c']);
    // A new process (a fresh channel) does not know what was accepted: it sends all again, and
    // PagerDuty folds the repeats into the same alerts by dedup_key.
    await pager().send(digest, {});
    expect(server.requests.slice(4).map((r) => r.json().dedup_key)).toEqual(['a', 'b', 'c']);
  });

  it('a test notification (no incident) triggers with its own key at info severity', async () => {
    await pager().send(
      notification({
        kind: 'test',
        severity: 'P4',
        title: 'drkit test notification for channel "pager"',
        incidents: [],
      }),
      {},
    );
    expect(events()[0]).toMatchObject({
      event_action: 'trigger',
      dedup_key: 'msg-20261206T160000Z-ab12cd-opened-pager',
      payload: { severity: 'info' },
    });
  });

  it('a 400 with PagerDuty errors is permanent and says them', async () => {
    server.answer({
      status: 400,
      body: { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.summary' is missing"] },
    });
    const d = await pager().send(notification(), {});
    expect(d).toMatchObject({ ok: false, retryable: false });
    expect((d as { error: string }).error).toContain("'payload.summary' is missing");
  });

  it("defaults to PagerDuty's /v2/enqueue and masks the routing key", () => {
    const channel = pagerDutyChannel({ name: 'pager', routingKey: ROUTING_KEY });
    expect(channel.describe()).toBe(`pagerduty ${PAGERDUTY_EVENTS_URL} (routing key ***)`);
  });

  it('a long title is cut to the 1,024 characters PagerDuty allows', async () => {
    await pager().send(notification({ incidents: [incident({ title: 'x'.repeat(2000) })] }), {});
    const [e] = events();
    expect(e?.event_action === 'trigger' && e.payload.summary.length).toBe(1024);
  });
});
