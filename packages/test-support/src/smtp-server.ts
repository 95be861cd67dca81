import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { listenLocally } from './local-server.js';

/** A key and a self-signed certificate (PEM) for 127.0.0.1 and localhost; trust `cert` as a CA. */
export interface TestCertificate {
  key: string;
  cert: string;
}

/** Made with the openssl CLI (node:crypto cannot sign certificates): EC P-256, valid for a day. */
export function selfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(path.join(tmpdir(), 'drkit-cert-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The message as sent (headers and body). */
  raw: string;
  /** The message decoded (mailparser): subject, text, html, headers. */
  parsed: ParsedMail;
  /** Whether the session was TLS when the message came (STARTTLS happened). */
  secure: boolean;
  /** The user that logged in, if any. */
  user?: string;
}

/** An SMTP reply that refuses a recipient, e.g. `{ code: 550, message: 'no such user' }`. */
export interface SmtpRefusal {
  code: number;
  message: string;
}

export interface SmtpTestServer {
  host: string;
  port: number;
  /** The certificate a client must trust (the server's own, self-signed). */
  cert: string;
  /** Messages accepted so far. */
  messages: ReceivedMail[];
  /** Decides each recipient from now on: a refusal, or undefined to accept. */
  refuseRecipients(rule: ((address: string) => SmtpRefusal | undefined) | undefined): void;
  /** Resolves once `count` messages in all have been accepted. */
  waitForMessages(count: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

export interface SmtpTestServerOptions {
  /** Offer STARTTLS (default true). Without it, a client that requires TLS must refuse to send. */
  starttls?: boolean;
  /** TLS from the first byte (smtps://, port 465 style) instead of STARTTLS. */
  implicitTls?: boolean;
  /** Logins the server accepts; when given, AUTH is required (and only allowed after STARTTLS). */
  users?: Record<string, string>;
  certificate?: TestCertificate;
}

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 with STARTTLS and a self-signed
 * certificate, recording every accepted message.
 */
export async function startSmtpServer(options: SmtpTestServerOptions = {}): Promise<SmtpTestServer> {
  const certificate = options.certificate ?? selfSignedCertificate();
  const messages: ReceivedMail[] = [];
  const waiters: Array<{ count: number; resolve: (m: ReceivedMail[]) => void }> = [];
  let refusal: ((address: string) => SmtpRefusal | undefined) | undefined;
  const users = options.users;

  const server = new SMTPServer({
    secure: options.implicitTls === true,
    key: certificate.key,
    cert: certificate.cert,
    disabledCommands: options.starttls === false ? ['STARTTLS'] : [],
    authOptional: users === undefined,
    logger: false,
    onAuth(auth, _session, callback) {
      if (users && users[auth.username ?? ''] === auth.password) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const refused = refusal?.(address.address);
      callback(refused ? Object.assign(new Error(refused.message), { responseCode: refused.code }) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: raw.toString('utf8'),
          parsed: await simpleParser(raw),
          secure: session.secure,
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
        });
        for (const w of waiters.filter((w) => messages.length >= w.count)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve([...messages]);
        }
        callback();
      });
    },
  });
  const { port, stop } = await listenLocally(server.server);
  return {
    host: '127.0.0.1',
    port,
    cert: certificate.cert,
    messages,
    refuseRecipients(rule) {
      refusal = rule;
    },
    waitForMessages(count) {
      if (messages.length >= count) return Promise.resolve([...messages]);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    stop,
  };
}
