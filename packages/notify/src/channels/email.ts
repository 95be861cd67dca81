import { parseSmtpUrl } from '@drkit/config';
import type { Channel, Delivery, Notification } from '../channel.js';
import { ChannelError, ChannelErrorCode } from './errors.js';
import { footer, subjectLine } from './format.js';
import { CANCELLED, combineLegs, type ContactLookup, DeliveredLegs, resolveRecipients } from './recipients.js';
import { redactor } from './secrets.js';

export interface EmailChannelOptions {
  name: string;
  /** `smtp://user:password@host:587` (STARTTLS, required) or `smtps://…:465` (TLS from the start). */
  smtpUrl: string;
  from: string;
  /** Addresses, or `role:NAME` resolved through `contact`. */
  to: readonly string[];
  contact?: ContactLookup;
  /** PEM of the CA that signed the server's certificate, when it is not a public one. */
  ca?: string | Buffer;
  timeoutMs?: number;
}

/** SMTP servers may pause their greeting on purpose (anti-spam): more time than an HTTP call. */
export const EMAIL_TIMEOUT_MS = 30_000;
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/;

interface SmtpError {
  message: string;
  code?: string;
  originalCode?: string;
  responseCode?: number;
  permanent?: boolean;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

/**
 * By SMTP's reply classes (5xx permanent, 4xx transient); without a
 * reply: TLS and login problems are permanent, network ones retry.
 */
function classify(error: SmtpError, redact: (t: string) => string): Delivery {
  const message = redact(error.message);
  if (CERTIFICATE_ERROR.test(`${error.originalCode ?? ''} ${error.code ?? ''}`) || /certificate/i.test(error.message))
    return {
      ok: false,
      retryable: false,
      error: `${message} (the server's certificate is not trusted: set ca_file to the CA that signed it)`,
    };
  if (error.code === 'ETLS')
    return {
      ok: false,
      retryable: false,
      error: `${message} (drkit sends mail only over TLS: the server must offer STARTTLS, or use smtps://)`,
    };
  if (error.permanent !== undefined) return { ok: false, retryable: !error.permanent, error: message };
  if (error.code === 'EAUTH' || error.code === 'ENOAUTH' || error.code === 'ECONFIG')
    return { ok: false, retryable: false, error: message };
  return { ok: false, retryable: true, error: message };
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function html(n: Notification): string {
  return `<p>${escapeHtml(n.text).replace(/\n/g, '<br>')}</p><p style="color:#666">${escapeHtml(footer(n))}</p>`;
}

/**
 * Mail over SMTP with nodemailer. smtp:// must upgrade with STARTTLS (the password never goes
 * in clear), smtps:// is TLS from the start. A retry by this process mails only the
 * recipients the server did not accept; the Message-ID is the same on every attempt.
 */
export function emailChannel(options: EmailChannelOptions): Channel {
  const smtp = parseSmtpUrl(options.smtpUrl);
  if (typeof smtp === 'string')
    throw new ChannelError(ChannelErrorCode.BAD_SMTP_URL, `smtp_url ${smtp}`, {
      hint:
        `Write smtp://USER:PASSWORD@HOST:587 (STARTTLS) or smtps://USER:PASSWORD@HOST:465, the password from ` +
        `the environment: smtp://drkit:\${SMTP_PASSWORD}@mail.example.com:587.`,
    });
  const timeoutMs = options.timeoutMs ?? EMAIL_TIMEOUT_MS;
  const redact = redactor([smtp.password]);
  // nodemailer (~2 MiB resident) loads with the first mail, not in every process that has channels.
  const openTransport = () =>
    import('nodemailer').then(({ createTransport }) =>
      createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        requireTLS: !smtp.secure,
        ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? '' }, forceAuth: true } : {}),
        tls: { minVersion: 'TLSv1.2', ...(options.ca ? { ca: options.ca } : {}) },
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        disableFileAccess: true,
        disableUrlAccess: true,
      }),
    );
  let transport: ReturnType<typeof openTransport> | undefined;
  const server =
    `${smtp.secure ? 'smtps' : 'smtp'}://${smtp.user !== undefined ? `${smtp.user}:***@` : ''}` +
    `${smtp.host.includes(':') ? `[${smtp.host}]` : smtp.host}:${smtp.port}`;
  const delivered = new DeliveredLegs();
  return {
    name: options.name,
    type: 'email',
    describe: () =>
      `email ${server} (${smtp.secure ? 'TLS' : 'STARTTLS'}) from ${options.from} to ${options.to.join(', ')}`,
    async send(n, { signal }): Promise<Delivery> {
      const { addresses, unresolved } = resolveRecipients(options.to, 'email', options.contact);
      const pending = addresses.filter((a) => !delivered.has(n.idempotencyKey, a));
      if (pending.length === 0) return combineLegs([], unresolved);
      if (signal?.aborted) return CANCELLED;
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        transport ??= openTransport();
        const info = await (await transport).sendMail({
          from: options.from,
          to: pending,
          subject: subjectLine(n),
          text: `${n.text}\n\n-- \n${footer(n)}\n`,
          html: html(n),
          // The same Message-ID on every attempt lets mail systems drop a duplicate.
          messageId: `<${n.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '_')}@drkit>`,
          headers: { 'X-Drkit-Idempotency-Key': n.idempotencyKey },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        for (const a of info.accepted) delivered.add(n.idempotencyKey, String(a));
        const refused = new Map((info.rejectedErrors ?? []).map((e) => [e.recipient ?? '', e]));
        const results = pending.map((leg) => {
          const error = refused.get(leg);
          return { leg, delivery: error ? classify(error, redact) : ({ ok: true } as Delivery) };
        });
        return results.every((r) => r.delivery.ok) && unresolved.length === 0
          ? { ok: true, receipt: `${info.messageId} ${redact(info.response)}` }
          : combineLegs(results, unresolved);
      } catch (caught) {
        const error = caught as SmtpError;
        if (signal?.aborted) return { ok: false, retryable: true, error: `sending to ${server} was cancelled` };
        if (timeout.aborted)
          return { ok: false, retryable: true, error: `no answer from ${server} within ${timeoutMs / 1000} s` };
        // Every recipient refused: say it per recipient.
        if (error.rejectedErrors?.length)
          return combineLegs(
            error.rejectedErrors.map((e) => ({ leg: e.recipient ?? '?', delivery: classify(e, redact) })),
            unresolved,
          );
        const failed = classify(error, redact);
        return { ...failed, error: `${server}: ${(failed as { error: string }).error}` } as Delivery;
      }
    },
  };
}
