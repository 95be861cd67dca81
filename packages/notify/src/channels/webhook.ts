import type { Channel, Delivery, Notification } from '../channel.js';
import { classifyAnswer, DEFAULT_TIMEOUT_MS, type HttpTarget, httpUrl, isAnswer, post } from './http.js';
import { maskUrlPath, redactor, urlSecrets } from './secrets.js';

export interface WebhookChannelOptions {
  name: string;
  url: string;
  /** Sent with every request (e.g. Authorization); their values are treated as secrets. */
  headers?: Record<string, string>;
  timeoutMs?: number;
  now?: () => number;
}

/**
 * The JSON body: the same for every attempt of one notification, so a receiver can drop a
 * duplicate by `idempotency_key` (also sent as the Idempotency-Key header).
 */
export function webhookBody(n: Notification) {
  return {
    idempotency_key: n.idempotencyKey,
    kind: n.kind,
    severity: n.severity,
    title: n.title,
    text: n.text,
    incidents: n.incidents,
  };
}

/** A generic JSON webhook: 2xx delivered; 4xx permanent except 408 and 429; 5xx retryable. */
export function webhookChannel(options: WebhookChannelOptions): Channel {
  const url = httpUrl(options.url, 'url');
  const label = maskUrlPath(url);
  const headers = options.headers ?? {};
  const target: HttpTarget = {
    url,
    label,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    redact: redactor([...urlSecrets(url), ...Object.values(headers)]),
    now: options.now ?? Date.now,
  };
  const names = Object.keys(headers);
  return {
    name: options.name,
    type: 'webhook',
    describe: () => `webhook ${label}${names.length ? ` (headers ${names.map((h) => `${h}: ***`).join(', ')})` : ''}`,
    async send(n, { signal }): Promise<Delivery> {
      const answer = await post(
        target,
        {
          headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': n.idempotencyKey },
          body: JSON.stringify(webhookBody(n)),
        },
        signal,
      );
      if (!isAnswer(answer)) return answer;
      const delivery = classifyAnswer(target, answer);
      return delivery.ok ? { ok: true, receipt: `HTTP ${answer.status}` } : delivery;
    },
  };
}
