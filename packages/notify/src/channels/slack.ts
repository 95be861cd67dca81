import type { Channel, Delivery, Notification } from '../channel.js';
import type { Severity } from '../model.js';
import { footer, truncate } from './format.js';
import { classifyAnswer, DEFAULT_TIMEOUT_MS, type HttpTarget, httpUrl, isAnswer, post, retryAfterMs } from './http.js';
import { maskUrlPath, redactor, urlSecrets } from './secrets.js';

export interface SlackChannelOptions {
  name: string;
  /** The incoming webhook's URL; its path is the secret. */
  webhookUrl: string;
  timeoutMs?: number;
  /** For Retry-After dates; Date.now by default. */
  now?: () => number;
}

const MARK: Record<Severity, string> = {
  P1: ':red_circle:',
  P2: ':large_orange_circle:',
  P3: ':large_yellow_circle:',
  P4: ':white_circle:',
};
// Slack's limits: header text 150 characters, section text 3,000.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
// Slack asks senders to wait after a 429; without a Retry-After, wait at least this long.
const SLACK_MIN_WAIT_MS = 1000;

/** Slack's mrkdwn treats &, < and > as markup. */
const mrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `text` (the notification's fallback) and blocks: the title as a header, the text, a footer. */
export function slackMessage(n: Notification): { text: string; blocks: object[] } {
  return {
    text: truncate(`${MARK[n.severity]} ${mrkdwn(n.title)}\n${mrkdwn(n.text)}`, SECTION_MAX),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(n.title, HEADER_MAX), emoji: true } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: truncate(`${MARK[n.severity]} ${mrkdwn(n.text)}`, SECTION_MAX) },
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: mrkdwn(footer(n)) }] },
    ],
  };
}

/**
 * A Slack incoming webhook. A 429 waits for Retry-After (Slack disables apps that keep
 * sending), 5xx retries, any other error (invalid_payload, channel_is_archived) is permanent.
 */
export function slackChannel(options: SlackChannelOptions): Channel {
  const url = httpUrl(options.webhookUrl, 'webhook_url');
  const label = maskUrlPath(url);
  const target: HttpTarget = {
    url,
    label,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    redact: redactor(urlSecrets(url)),
    now: options.now ?? Date.now,
  };
  return {
    name: options.name,
    type: 'slack',
    describe: () => `slack webhook ${label}`,
    async send(n, { signal }): Promise<Delivery> {
      const answer = await post(
        target,
        { headers: { 'content-type': 'application/json' }, body: JSON.stringify(slackMessage(n)) },
        signal,
      );
      if (!isAnswer(answer)) return answer;
      const delivery = classifyAnswer(target, answer);
      if (answer.status === 429 && !delivery.ok)
        return {
          ...delivery,
          retryAfterMs: retryAfterMs(answer.header('retry-after'), target.now()) ?? SLACK_MIN_WAIT_MS,
        };
      return delivery;
    },
  };
}
