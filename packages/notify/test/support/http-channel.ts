import type { Channel, Delivery, Notification } from '@drkit/notify';

/**
 * A JSON-over-HTTP channel for the routing and outbox tests (the real adapters, with each
 * service's own rules, are tested in their own files): 2xx delivered; 429 and 5xx retryable,
 * honouring Retry-After; other 4xx permanent; a refused or reset connection retryable.
 */
export class HttpChannel implements Channel {
  readonly type = 'webhook' as const;

  constructor(
    readonly name: string,
    private readonly url: string,
  ) {}

  describe(): string {
    return this.url;
  }

  async send(notification: Notification, options: { signal?: AbortSignal }): Promise<Delivery> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': notification.idempotencyKey },
        body: JSON.stringify(notification),
        signal: options.signal,
      });
      await response.arrayBuffer();
    } catch (error) {
      return {
        ok: false,
        retryable: true,
        error: `${this.url}: ${(error as Error).cause ?? (error as Error).message}`,
      };
    }
    if (response.ok) return { ok: true };
    const retryAfter = Number(response.headers.get('retry-after'));
    const retryable = response.status === 429 || response.status >= 500;
    return {
      ok: false,
      retryable,
      ...(retryable && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      error: `HTTP ${response.status} from ${this.url}`,
    };
  }
}
