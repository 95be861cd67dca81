import type { Channel, Delivery, Notification } from '../channel.js';
import type { Incident, Severity } from '../model.js';
import { incidentFacts, plainText, truncate } from './format.js';
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

const MARK: Record<Severity, string> = { P1: ':red_circle:', P2: ':large_orange_circle:', P3: ':large_yellow_circle:', P4: ':white_circle:' };
// Slack's limits: header text 150 characters, section text 3,000, 50 blocks a message.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const INCIDENTS_MAX = 40;
// Slack asks senders to wait after a 429; without a Retry-After, wait at least this long.
const SLACK_MIN_WAIT_MS = 1000;

/** Slack's mrkdwn treats &, < and > as markup. */
const mrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function incidentBlock(i: Incident) {
  const latest = i.timeline.filter((t) => t.visibility === 'public').at(-1);
  const text = `*${mrkdwn(i.title)}*\n${mrkdwn(incidentFacts(i))}${latest ? `\n${mrkdwn(latest.message)}` : ''}`;
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_MAX) } };
}

/** `text` (the notification fallback) and blocks: a header, the text, one section per incident. */
export function slackMessage(n: Notification): { text: string; blocks: object[] } {
  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${n.severity} · ${n.title}`, HEADER_MAX), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`${MARK[n.severity]} ${mrkdwn(n.text)}`, SECTION_MAX) } },
  ];
  for (const i of n.incidents.slice(0, INCIDENTS_MAX)) blocks.push(incidentBlock(i));
  if (n.incidents.length > INCIDENTS_MAX) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${n.incidents.length - INCIDENTS_MAX} more` }] });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `drkit · ${n.kind} · ${n.idempotencyKey}` }] });
  return { text: truncate(`${MARK[n.severity]} ${n.severity} ${mrkdwn(plainText(n))}`, SECTION_MAX), blocks };
}

/**
 * A Slack incoming webhook. A 429 waits for Retry-After (Slack disables apps that keep
 * sending), 5xx retries, any other error (invalid_payload, channel_is_archived) is permanent.
 */
export function slackChannel(options: SlackChannelOptions): Channel {
  const url = httpUrl(options.webhookUrl, 'webhook_url');
  const label = maskUrlPath(url);
  const target: HttpTarget = { url, label, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, redact: redactor(urlSecrets(url)), now: options.now ?? Date.now };
  return {
    name: options.name,
    type: 'slack',
    describe: () => `slack webhook ${label}`,
    async send(n, { signal }): Promise<Delivery> {
      const answer = await post(target, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(slackMessage(n)) }, signal);
      if (!isAnswer(answer)) return answer;
      const delivery = classifyAnswer(target, answer);
      if (answer.status === 429 && !delivery.ok) return { ...delivery, retryAfterMs: retryAfterMs(answer.headers.get('retry-after'), target.now()) ?? SLACK_MIN_WAIT_MS };
      return delivery;
    },
  };
}
