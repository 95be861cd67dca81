import { type RecordingServer, startRecordingServer } from '@drkit/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { slackChannel } from '../../src/index.js';
import { incident, notification } from './fixtures.js';

describe('Slack incoming webhook', () => {
  let server: RecordingServer;
  beforeEach(async () => {
    server = await startRecordingServer();
  });
  afterEach(() => server.stop());

  const slack = () => slackChannel({ name: 'ops-slack', webhookUrl: `${server.url}/services/T0DRKIT/B0DRKIT/xoxbSecretToken` });

  it('posts text and blocks: a header with severity and title, the text, one section per incident', async () => {
    expect(await slack().send(notification(), {})).toEqual({ ok: true });
    const [request] = server.requests;
    expect(request?.path).toBe('/services/T0DRKIT/B0DRKIT/xoxbSecretToken');
    const body = request!.json();
    expect(body.text).toContain('The last backup of "data" finished 2 h ago');
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'P1 · Backups of "data" are 2 h old', emoji: true } });
    expect(body.blocks[2].text.text).toBe('*Backups of "data" are 2 h old*\n20261206T160000Z-ab12cd · P1 · investigating · backup, data\nRPO 1 h exceeded &lt;by 1 h&gt;');
    expect(body.blocks.at(-1).elements[0].text).toContain('msg-20261206T160000Z-ab12cd-opened-pager');
  });

  it('answers 429 with Retry-After: 2 → retryable after 2000 ms, never sooner', async () => {
    server.answer({ status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' });
    expect(await slack().send(notification(), {})).toEqual({ ok: false, retryable: true, retryAfterMs: 2000, error: `${server.url}/*** answered 429: rate_limited` });
  });

  it('a 429 without Retry-After still waits a second', async () => {
    server.answer({ status: 429 });
    expect(await slack().send(notification(), {})).toMatchObject({ retryable: true, retryAfterMs: 1000 });
  });

  it("Slack's own errors (invalid_payload, channel_is_archived) are permanent and named", async () => {
    server.answer({ status: 410, body: 'channel_is_archived' });
    expect(await slack().send(notification(), {})).toMatchObject({ ok: false, retryable: false, error: `${server.url}/*** answered 410: channel_is_archived` });
  });

  it("keeps within Slack's limits on a digest of many incidents", async () => {
    const incidents = Array.from({ length: 60 }, (_, i) => incident({ id: `inc-${i}`, title: 't'.repeat(4000) }));
    await slack().send(notification({ kind: 'digest', title: 'x'.repeat(400), incidents }), {});
    const body = server.requests[0]!.json();
    expect(body.blocks.length).toBeLessThanOrEqual(50);
    expect(body.blocks[0].text.text.length).toBeLessThanOrEqual(150);
    for (const b of body.blocks) if (b.type === 'section') expect(b.text.text.length).toBeLessThanOrEqual(3000);
    expect(JSON.stringify(body)).toContain('…and 20 more');
  });

  it('describes itself without the token', () => {
    expect(slack().describe()).toBe(`slack webhook ${server.url}/***`);
  });
});
