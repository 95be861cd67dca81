import type { Delivery } from '../channel.js';
import { ChannelError, ChannelErrorCode } from './errors.js';

/** Where and how an adapter posts: a parsed URL, its masked form for messages, and the redaction of its secrets. */
export interface HttpTarget {
  url: URL;
  /** The URL as messages show it (secrets masked). */
  label: string;
  timeoutMs: number;
  redact: (text: string) => string;
  now: () => number;
}

/** What the receiver answered (any status). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** Parses an endpoint; the error names the field, not the value (it may hold a secret). */
export function httpUrl(text: string, field: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new ChannelError(ChannelErrorCode.BAD_URL, `${field} is not an http:// or https:// URL`, {
      hint: `Set ${field} to the full URL the service gave you, e.g. from an \${ENV} reference.`,
    });
  return url;
}

/** Network codes that mean the receiver's certificate was not trusted: retrying cannot fix that. */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/;

function causeText(error: unknown): { text: string; code?: string } {
  let e = error as { message?: string; code?: string; cause?: unknown } | undefined;
  // fetch says "fetch failed"; the reason is in the cause chain.
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return { text: e?.message ?? String(error), ...(e?.code ? { code: e.code } : {}) };
}

/**
 * POSTs once, within the target's timeout and the caller's signal. A network failure, a
 * timeout or a cancel comes back as a failed Delivery (retryable, except an untrusted
 * certificate); any HTTP answer comes back for the adapter to classify.
 */
export async function post(
  target: HttpTarget,
  request: { headers: Record<string, string>; body: string },
  signal: AbortSignal | undefined,
): Promise<HttpAnswer | Delivery> {
  const timeout = AbortSignal.timeout(target.timeoutMs);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'user-agent': 'drkit-notify', ...request.headers },
      body: request.body,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  } catch (error) {
    if (signal?.aborted) return { ok: false, retryable: true, error: `sending to ${target.label} was cancelled` };
    if (timeout.aborted)
      return {
        ok: false,
        retryable: true,
        error: `no answer from ${target.label} within ${target.timeoutMs / 1000} s`,
      };
    const cause = causeText(error);
    const certificate = CERTIFICATE_ERROR.test(cause.code ?? '');
    return {
      ok: false,
      retryable: !certificate,
      error: target.redact(
        `could not reach ${target.label}: ${cause.text}` +
          `${certificate ? ' (the server certificate is not trusted)' : ''}`,
      ),
    };
  }
}

/** Milliseconds to wait from a Retry-After header: delay-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The start of a receiver's answer, on one line, for a message. */
function snippet(body: string): string {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * The common HTTP rules: 2xx delivered; 408, 429 and 5xx retryable (after Retry-After when the
 * receiver sent one); any other status (4xx, a redirect) permanent.
 */
export function classifyAnswer(target: HttpTarget, answer: HttpAnswer): Delivery {
  const { status } = answer;
  if (status >= 200 && status < 300) return { ok: true };
  // Redacted before it is cut, so half a secret never shows.
  const body = snippet(target.redact(answer.body));
  const redirect =
    status >= 300 && status < 400
      ? ' (a redirect: drkit does not follow them; set the URL the service answers at)'
      : '';
  const error = target.redact(`${target.label} answered ${status}${body ? `: ${body}` : ''}${redirect}`);
  if (status === 408 || status === 429 || status >= 500) {
    const wait = retryAfterMs(answer.headers.get('retry-after'), target.now());
    return { ok: false, retryable: true, ...(wait !== undefined ? { retryAfterMs: wait } : {}), error };
  }
  return { ok: false, retryable: false, error };
}

export function isAnswer(value: HttpAnswer | Delivery): value is HttpAnswer {
  return 'status' in value;
}
