import { createServer, type Server, type Socket } from 'node:net';
import { type SmtpTestServer, selfSignedCertificate, startSmtpServer, type TestCertificate } from '@drkit/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ContactConfig } from '@drkit/config';
import { ChannelErrorCode, type Delivery, type EmailChannelOptions, emailChannel } from '../../src/index.js';
import { notification } from './fixtures.js';

// Characters that URL parsers trip over, to show the password is taken whole and never shown.
const PASSWORD = 'p@ss:w/rd#42-secret';
const contacts: ContactConfig[] = [{ role: 'devops-lead', name: 'Ana Lima', email: 'ana@example.com' }];
const contact = (role: string) => contacts.find((c) => c.role === role);
const failure = (d: Delivery) => d as Extract<Delivery, { ok: false }>;

describe('email over SMTP (nodemailer, STARTTLS) to a real SMTP server', () => {
  let certificate: TestCertificate;
  let server: SmtpTestServer;
  beforeAll(async () => {
    certificate = selfSignedCertificate();
    server = await startSmtpServer({ certificate, users: { drkit: PASSWORD } });
  });
  afterAll(() => server.stop());
  afterEach(() => {
    server.messages.length = 0;
    server.refuseRecipients(undefined);
  });

  const url = (s: { port: number } = server, password = PASSWORD) => `smtp://drkit:${password}@127.0.0.1:${s.port}`;
  const mail = (o: Partial<EmailChannelOptions> = {}) =>
    emailChannel({
      name: 'ops-email',
      smtpUrl: url(),
      from: 'drkit@example.com',
      to: ['ops@example.com', 'role:devops-lead'],
      contact,
      ca: certificate.cert,
      ...o,
    });

  it('upgrades with STARTTLS, logs in, and delivers to the addresses and the roles', async () => {
    const n = notification();
    const d = await mail().send(n, {});
    expect(d.ok).toBe(true);
    const [m] = server.messages;
    expect(m).toMatchObject({
      from: 'drkit@example.com',
      to: ['ops@example.com', 'ana@example.com'],
      secure: true,
      user: 'drkit',
    });
    expect(m?.parsed.subject).toBe('[drkit] Backups of "data" are 2 h old');
    expect(m?.parsed.messageId).toBe('<msg-20261206T160000Z-ab12cd-opened-pager@drkit>');
    expect(m?.parsed.headers.get('x-drkit-idempotency-key')).toBe(n.idempotencyKey);
    expect(m?.parsed.text).toBe(`${n.text}\n\n-- \ndrkit · opened · ${n.idempotencyKey}\n`);
    expect(m?.parsed.html).toBe(
      `<p>The last backup of &quot;data&quot; finished 2 h ago; the RPO is 1 h.</p><p ` +
        `style="color:#666">drkit · opened · ${n.idempotencyKey}</p>`,
    );
  });

  it('smtps:// speaks TLS from the first byte', async () => {
    const tls = await startSmtpServer({ certificate, implicitTls: true });
    try {
      expect((await mail({ smtpUrl: `smtps://127.0.0.1:${tls.port}` }).send(notification(), {})).ok).toBe(true);
      expect(tls.messages[0]?.secure).toBe(true);
    } finally {
      await tls.stop();
    }
  });

  it('refuses to send where the server offers no STARTTLS: the password never goes in clear (permanent)', async () => {
    const plain = await startSmtpServer({ certificate, starttls: false });
    try {
      const d = failure(await mail({ smtpUrl: url(plain) }).send(notification(), {}));
      expect(d.retryable).toBe(false);
      expect(d.error).toContain('the server must offer STARTTLS');
      expect(plain.messages).toEqual([]);
    } finally {
      await plain.stop();
    }
  });

  it('an untrusted certificate is permanent and points at ca_file', async () => {
    const other = selfSignedCertificate();
    const d = failure(await mail({ ca: other.cert }).send(notification(), {}));
    expect(d.retryable).toBe(false);
    expect(d.error).toContain('set ca_file');
    expect(server.messages).toEqual([]);
  });

  it('a wrong password is permanent, and no password shows in the error or the description', async () => {
    const channel = mail({ smtpUrl: url(server, 'wrong-password-123') });
    const d = failure(await channel.send(notification(), {}));
    expect(d.retryable).toBe(false);
    expect(d.error).toContain('535');
    expect(d.error).not.toContain('wrong-password-123');
    expect(mail().describe()).toBe(
      `email smtp://drkit:***@127.0.0.1:${server.port} (STARTTLS) from drkit@example.com to ` +
        `ops@example.com, role:devops-lead`,
    );
  });

  it('a recipient refused with 550 is permanent; the others get the mail', async () => {
    server.refuseRecipients((a) => (a === 'ana@example.com' ? { code: 550, message: 'No such user' } : undefined));
    const d = failure(await mail().send(notification(), {}));
    expect(d.retryable).toBe(false);
    expect(d.error).toMatch(/^ana@example\.com: .*550 No such user.* \(delivered: ops@example\.com\)$/);
    expect(server.messages.map((m) => m.to)).toEqual([['ops@example.com']]);
  });

  it('a recipient deferred with 450 is retryable, and the retry mails only that recipient', async () => {
    server.refuseRecipients((a) => (a === 'ana@example.com' ? { code: 450, message: 'Mailbox busy' } : undefined));
    const channel = mail();
    expect(await channel.send(notification(), {})).toMatchObject({ ok: false, retryable: true });
    server.refuseRecipients(undefined);
    expect((await channel.send(notification(), {})).ok).toBe(true);
    expect(server.messages.map((m) => m.to)).toEqual([['ops@example.com'], ['ana@example.com']]);
    expect(server.messages.map((m) => m.parsed.messageId)).toEqual([
      '<msg-20261206T160000Z-ab12cd-opened-pager@drkit>',
      '<msg-20261206T160000Z-ab12cd-opened-pager@drkit>',
    ]);
  });

  it('every recipient refused: said per recipient', async () => {
    server.refuseRecipients(() => ({ code: 550, message: 'Relay denied' }));
    const d = failure(await mail().send(notification(), {}));
    expect(d.retryable).toBe(false);
    expect(d.error).toMatch(/^ops@example\.com: .*Relay denied.*; ana@example\.com: .*Relay denied/);
  });

  describe('a server that never answers', () => {
    let silent: Server;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      silent = createServer((s) => sockets.add(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });

    it('is retryable after the timeout', async () => {
      const d = failure(
        await mail({ smtpUrl: url(silent.address() as { port: number }), timeoutMs: 300 }).send(notification(), {}),
      );
      expect(d.retryable).toBe(true);
    });

    it("stops at once on the caller's AbortSignal", async () => {
      const controller = new AbortController();
      const sending = mail({ smtpUrl: url(silent.address() as { port: number }) }).send(notification(), {
        signal: controller.signal,
      });
      controller.abort();
      expect(await sending).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('cancelled') });
    });
  });

  it('a server that is down is retryable', async () => {
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const port = (down.address() as { port: number }).port;
    await new Promise((r) => down.close(r));
    const d = failure(await mail({ smtpUrl: url({ port }) }).send(notification(), {}));
    expect(d.retryable).toBe(true);
    expect(d.error).toContain('ECONNREFUSED');
    expect(d.error).not.toContain(PASSWORD);
  });

  it.each([
    ['http://mail.example.com', 'has the scheme http://, not smtp:// or smtps://'],
    ['mail.example.com:587', 'is not a URL'],
    [`smtp://drkit:${PASSWORD}@`, 'has no host'],
    [`smtp://drkit:${PASSWORD}@mail:99999`, 'has a port that is not a number from 1 to 65535'],
  ])('a malformed smtp_url (%s) is a clear error that never repeats the URL', (smtpUrl, says) => {
    try {
      mail({ smtpUrl });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({
        code: ChannelErrorCode.BAD_SMTP_URL,
        message: expect.stringContaining(says),
        hint: expect.stringContaining('smtp://USER:PASSWORD@HOST:587'),
      });
      expect(JSON.stringify(error)).not.toContain(PASSWORD);
    }
  });
});
