import { type RecordingServer, startRecordingServer } from '@drkit/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { slackChannel } from '../../src/index.js';
import { notification } from './fixtures.js';

describe('Slack incoming webhook', () => {
  let server: RecordingServer;
  beforeEach(async () => {
    server = await startRecordingServer();
  });
  afterEach(() => server.stop());

  const slack = () =>
    slackChannel({ name: 'ops-slack', webhookUrl: `${server.url}/services/T0DRKIT/B0DRKIT/xoxbSecretToken` });

  it('posts text and blocks: the title as a header, the text (mrkdwn escaped), a footer with the key', async () => {
    expect(await slack().send(notification({ text: 'RPO 1 h exceeded <by 1 h> & counting' }), {})).toEqual({
      ok: true,
    });
    const [request] = server.requests;
    expect(request?.path).toBe('/services/T0DRKIT/B0DRKIT/xoxbSecretToken');
    expect(request?.json()).toEqual({
      text: ':red_circle: Backups of "data" are 2 h old\nRPO 1 h exceeded &lt;by 1 h&gt; &amp; counting',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Backups of "data" are 2 h old', emoji: true } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: ':red_circle: RPO 1 h exceeded &lt;by 1 h&gt; &amp; counting' },
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'drkit · opened · msg-20261206T160000Z-ab12cd-opened-pager' }],
        },
      ],
    });
  });

  it('answers 429 with Retry-After: 2 → retryable after 2000 ms, never sooner', async () => {
    server.answer({ status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' });
    expect(await slack().send(notification(), {})).toEqual({
      ok: false,
      retryable: true,
      retryAfterMs: 2000,
      error: `${server.url}/*** answered 429: rate_limited`,
    });
  });

  it('a 429 without Retry-After still waits a second', async () => {
    server.answer({ status: 429 });
    expect(await slack().send(notification(), {})).toMatchObject({ retryable: true, retryAfterMs: 1000 });
  });

  it("Slack's own errors (invalid_payload, channel_is_archived) are permanent and named", async () => {
    server.answer({ status: 410, body: 'channel_is_archived' });
    expect(await slack().send(notification(), {})).toMatchObject({
      ok: false,
      retryable: false,
      error: `${server.url}/*** answered 410: channel_is_archived`,
    });
  });

  it("keeps within Slack's limits (header 150 characters, section 3,000)", async () => {
    await slack().send(notification({ title: 'x'.repeat(400), text: 'y'.repeat(5000) }), {});
    const body = server.requests[0]!.json();
    expect(body.blocks[0].text.text.length).toBe(150);
    expect(body.blocks[1].text.text.length).toBe(3000);
    expect(body.text.length).toBe(3000);
  });

  it('describes itself without the token', () => {
    expect(slack().describe()).toBe(`slack webhook ${server.url}/***`);
  });
});
