import type { Channel, Delivery, Notification, NotificationKind } from '../channel.js';
import { subjectLine, truncate } from './format.js';
import { classifyAnswer, DEFAULT_TIMEOUT_MS, type HttpTarget, httpUrl, isAnswer, post } from './http.js';
import { CANCELLED, combineLegs, type ContactLookup, DeliveredLegs, resolveRecipients } from './recipients.js';
import { redactor } from './secrets.js';

export const TWILIO_BASE_URL = 'https://api.twilio.com';

export interface TwilioChannelOptions {
  name: string;
  accountSid: string;
  /** A secret. */
  authToken: string;
  /** The Twilio number calls and texts come from (E.164). */
  from: string;
  /** E.164 numbers, or `role:NAME` resolved through `contact`. */
  to: readonly string[];
  contact?: ContactLookup;
  /** Place a voice call (default true) and send a text (default true). */
  call?: boolean;
  sms?: boolean;
  /** Default: https://api.twilio.com. */
  baseUrl?: string;
  timeoutMs?: number;
  now?: () => number;
}

/** A call wakes someone up: only for news that needs a person now. Everything else is a text. */
const CALL_KINDS: ReadonlySet<NotificationKind> = new Set(['opened', 'reminder', 'escalated', 'test']);
// Twilio's limit for one message body.
const SMS_MAX = 1600;

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The call's TwiML: says the title, twice. */
export function callTwiml(n: Notification): string {
  return `<Response><Say loop="2">drkit alert. ${xml(n.title)}.</Say></Response>`;
}

export function smsBody(n: Notification): string {
  return truncate(`${subjectLine(n)}\n${n.text}`, SMS_MAX);
}

/**
 * Twilio's REST API (basic auth): a voice call that says the title and a text message to
 * each number, all at once. Each call and text is a part: a retry by this process sends only the parts
 * not yet accepted, so nobody is called twice for one notification.
 */
export function twilioChannel(options: TwilioChannelOptions): Channel {
  const base = httpUrl(options.baseUrl ?? TWILIO_BASE_URL, 'base_url');
  const account = new URL(
    `2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/`,
    base.href.endsWith('/') ? base.href : `${base.href}/`,
  );
  const credentials = Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64');
  const authorization = `Basic ${credentials}`;
  const target = (resource: 'Calls' | 'Messages'): HttpTarget => {
    const url = new URL(`${resource}.json`, account);
    return {
      url,
      label: url.href,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      redact: redactor([options.authToken, credentials]),
      now: options.now ?? Date.now,
    };
  };
  const calls = target('Calls');
  const messages = target('Messages');
  const delivered = new DeliveredLegs();

  const request = async (
    t: HttpTarget,
    form: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Delivery> => {
    const answer = await post(
      t,
      {
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      },
      signal,
    );
    if (!isAnswer(answer)) return answer;
    const delivery = classifyAnswer(t, answer);
    if (!delivery.ok) return delivery;
    let sid: unknown;
    try {
      sid = JSON.parse(answer.body).sid;
    } catch {}
    return { ok: true, ...(typeof sid === 'string' ? { receipt: sid } : {}) };
  };

  return {
    name: options.name,
    type: 'twilio',
    describe: () =>
      `twilio ${[options.call !== false && 'call', options.sms !== false && 'sms'].filter(Boolean).join(' + ')} ` +
      `from ${options.from} to ${options.to.join(', ')} via ${base.origin} ` +
      `(account ${options.accountSid}, auth token ***)`,
    async send(n, { signal }): Promise<Delivery> {
      const { addresses, unresolved } = resolveRecipients(options.to, 'phone', options.contact);
      const legs: Array<[string, HttpTarget, Record<string, string>]> = [];
      for (const number of addresses) {
        if (options.call !== false && CALL_KINDS.has(n.kind))
          legs.push([`call ${number}`, calls, { To: number, From: options.from, Twiml: callTwiml(n) }]);
        if (options.sms !== false)
          legs.push([`sms ${number}`, messages, { To: number, From: options.from, Body: smsBody(n) }]);
      }
      // Everyone at once: a P1 should not wait for the first call's answer before the second.
      const results = await Promise.all(
        legs
          .filter(([leg]) => !delivered.has(n.idempotencyKey, leg))
          .map(async ([leg, t, form]) => {
            const delivery = signal?.aborted ? CANCELLED : await request(t, form, signal);
            if (delivery.ok) delivered.add(n.idempotencyKey, leg);
            return { leg, delivery };
          }),
      );
      return combineLegs(results, unresolved);
    },
  };
}
