// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrorCode, parseConfigText, parseSmtpUrl } from '@drkit/config';

const SOURCES = 'sources: [{ name: data, type: files, path: /data }]\n';

/** The example, as a user would paste it. */
const NOTIFY_YAML =
  `${SOURCES}
state: ./drkit-state
notify:
  channels:
    ops-slack: { type: slack, webhook_url: "\${SLACK_WEBHOOK_URL}" }
    ops-email: { type: email, smtp_url: "smtp://drkit:\${SMTP_PASSWORD}@mail:587", from: drkit@example.com, to: ` +
  `[ops@example.com, role:devops-lead] }
    pager:     { type: pagerduty, routing_key: "\${PD_ROUTING_KEY}" }
    phone:     { type: twilio, account_sid: AC123, auth_token: "\${TWILIO_TOKEN}", from: "+15550100", to: ` +
  `["+15550101", role:devops-lead] }
    hook:      { type: webhook, url: "https://hooks.example.com/x", headers: { Authorization: "Bearer ` +
  `\${HOOK_TOKEN}" } }
  routes:
    P1: { channels: [phone, pager, ops-email, ops-slack], within: 0s, repeat_every: 15m, escalate: [{ after: 30m, ` +
  `channels: [hook] }] }
    P2: { channels: [ops-email, ops-slack], within: 15m }
    P3:
      - { match: { component: database }, channels: [ops-email], within: 1h }
      - { channels: [ops-slack], within: 1h }
    P4: { channels: [ops-email], within: 24h }
contacts:
  - { role: devops-lead, name: Ana Lima, phone: "+15550199", email: ana@example.com }
`;
const ENV = {
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/s3cr3t',
  SMTP_PASSWORD: 'p@ss/w#rd',
  PD_ROUTING_KEY: 'R0UT1NG',
  TWILIO_TOKEN: 'tw1l10',
  HOOK_TOKEN: 'h00k',
};

function configError(yaml: string, env: NodeJS.ProcessEnv = ENV): ConfigError {
  try {
    parseConfigText(yaml, 'drkit.config.yaml', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('notify, contacts and state in the config', () => {
  it("reads the issue's example, with secrets from the environment and the state folder made absolute", () => {
    const config = parseConfigText(NOTIFY_YAML, '/srv/app/drkit.config.yaml', ENV);
    expect(config.state).toBe('/srv/app/drkit-state');
    expect(config.notify?.channels['ops-email']).toMatchObject({
      type: 'email',
      smtp_url: 'smtp://drkit:p@ss/w#rd@mail:587',
      to: ['ops@example.com', 'role:devops-lead'],
    });
    expect(config.notify?.channels.phone).toMatchObject({ type: 'twilio', call: true, sms: true });
    expect(config.notify?.routes.P3).toHaveLength(2);
    expect(config.notify?.inhibit).toBe(true);
    expect(config.contacts).toEqual([
      { role: 'devops-lead', name: 'Ana Lima', phone: '+15550199', email: 'ana@example.com' },
    ]);
    expect(parseConfigText(`${SOURCES}state: redis://:pw@cache:6379/2\n`, 'c.yaml', {}).state).toBe(
      'redis://:pw@cache:6379/2',
    );
  });

  it('names an unknown channel in a route, with the likely one and the list to pick from', () => {
    const err = configError(
      NOTIFY_YAML.replace('channels: [phone, pager,', 'channels: [phone, pagr,').replace(
        'channels: [ops-slack], within: 1h }',
        'channels: [slack], within: 1h }',
      ),
    );
    expect(err.code).toBe(ConfigErrorCode.INVALID);
    expect(err.message.split('\n')).toEqual([
      'drkit.config.yaml: notify.routes.P1.channels[1]: unknown channel "pagr". Did you mean "pager"? Fix: ' +
        'use a channel defined under notify.channels (ops-slack, ops-email, pager, phone, hook), or define it there.',
      'drkit.config.yaml: notify.routes.P3[1].channels[0]: unknown channel "slack". Fix: use a channel ' +
        'defined under notify.channels (ops-slack, ops-email, pager, phone, hook), or define it there.',
    ]);
  });

  it('says what is wrong with a malformed SMTP URL without echoing it', () => {
    for (const [url, why] of [
      ['smtp//drkit:${SMTP_PASSWORD}@mail:587', 'is not a URL'],
      ['http://drkit:${SMTP_PASSWORD}@mail:587', 'has the scheme http://'],
      ['smtp://drkit:${SMTP_PASSWORD}@mail:5x7', 'has a host part that is not host or host:port'],
      ['smtp://drkit:${SMTP_PASSWORD}@', 'has no host'],
      ['smtp://drkit:${SMTP_PASSWORD}@mail:99999', 'has a port that is not a number from 1 to 65535'],
    ]) {
      const err = configError(NOTIFY_YAML.replace('smtp://drkit:${SMTP_PASSWORD}@mail:587', url!));
      expect(err.message).toBe(
        (
          `drkit.config.yaml: notify.channels.ops-email.smtp_url: the SMTP URL ${why}. Fix: write ` +
          `smtp://USER:PASSWORD@HOST:587 (STARTTLS) or smtps://USER:PASSWORD@HOST:465, with the password from ` +
          `the environment, e.g. smtp_url: "smtp://drkit:\${SMTP_PASSWORD}@mail.example.com:587".`
        ).replace(
          `${why}.`,
          why!.startsWith('has the scheme')
            ? `${why}, not smtp:// or smtps://.`
            : why === 'is not a URL'
              ? `${why} (it must start with smtp:// or smtps://).`
              : `${why}.`,
        ),
      );
      expect(err.message).not.toContain('p@ss');
    }
  });

  it('parses SMTP URLs whose password holds @, / and #, with the default ports', () => {
    expect(parseSmtpUrl('smtp://drkit:p@ss/w#rd@mail:2525')).toEqual({
      secure: false,
      host: 'mail',
      port: 2525,
      user: 'drkit',
      password: 'p@ss/w#rd',
    });
    expect(parseSmtpUrl('smtps://mail.example.com')).toEqual({ secure: true, host: 'mail.example.com', port: 465 });
    expect(parseSmtpUrl('smtp://u:p%40ss@[::1]')).toEqual({
      secure: false,
      host: '::1',
      port: 587,
      user: 'u',
      password: 'p@ss',
    });
  });

  it('fails the notify section on a missing ${ENV}, naming the key and the variable, only when it is read', () => {
    const { SLACK_WEBHOOK_URL: _, ...env } = ENV;
    const config = parseConfigText(NOTIFY_YAML, 'drkit.config.yaml', env);
    expect(config.sources).toHaveLength(1);
    let err: ConfigError | undefined;
    try {
      void config.notify;
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.code).toBe(ConfigErrorCode.ENV_MISSING);
    expect(err?.message).toBe(
      'drkit.config.yaml: notify.channels.ops-slack.webhook_url: environment variable SLACK_WEBHOOK_URL is ' +
        'not set. Fix: set it (export SLACK_WEBHOOK_URL=...) or give a default: ${SLACK_WEBHOOK_URL:-value}.',
    );
  });

  it('checks contacts and role references', () => {
    const err = configError(
      NOTIFY_YAML.replace('role:devops-lead] }\n    pager', 'role:devops-laed] }\n    pager')
        .replace('phone: "+15550199", ', '')
        .concat('  - { role: devops-lead, name: Bo }\n'),
    );
    expect(err.message.split('\n')).toEqual([
      'drkit.config.yaml: contacts[1].role: duplicate role "devops-lead". Fix: give each contact its own ' +
        'role (a person may hold several).',
      'drkit.config.yaml: notify.channels.ops-email.to[1]: no contact has the role "devops-laed". Did you ' +
        'mean "role:devops-lead"? Fix: add it to contacts (- { role: devops-laed, name: …, email: … }) or use ' +
        'one of: devops-lead.',
      'drkit.config.yaml: notify.channels.phone.to[1]: the contact with role "devops-lead" has no phone, ' +
        'which a twilio channel needs. Fix: add phone: to that contact.',
    ]);
  });

  it('explains bad channel fields, types and routes, masking secrets', () => {
    const yaml = `${SOURCES}notify:
  channels:
    a: { type: sms, to: [x] }
    b: { type: slack, webhook_url: "ftp://hooks/s3cr3t" }
    c: { type: pagerduty, routing_key: 42 }
    "bad name": { type: console }
    d: { type: email, smtp_url: "smtp://m:25", from: nobody, to: [] }
  routes:
    P1: { channels: [d], within: soon, repeat_every: 15m, escalate: [] }
    P5: { channels: [d] }
    P2: [{ chanels: [d] }]
`;
    const lines = configError(yaml).message.split('\n');
    expect(lines).toEqual([
      'drkit.config.yaml: notify.channels.a.type: expected one of slack, email, pagerduty, twilio, webhook, ' +
        'console, got "sms". Fix: write one of those, e.g. type: slack.',
      'drkit.config.yaml: notify.channels.b.webhook_url: expected an http:// or https:// URL, got ***. Fix: ' +
        'write a URL, e.g. webhook_url: "${SLACK_WEBHOOK_URL}".',
      'drkit.config.yaml: notify.channels.c.routing_key: expected an Events API v2 integration key, got ' +
        '***. Fix: write an environment reference, e.g. routing_key: "${PD_ROUTING_KEY}".',
      'drkit.config.yaml: notify.channels.d.from: expected an email address, got "nobody". Fix: write an ' +
        'address, e.g. from: drkit@example.com.',
      'drkit.config.yaml: notify.channels.d.to: expected a list of email addresses or role:NAME references, ' +
        'got an empty list. Fix: write a list, e.g. to: [ops@example.com, role:devops-lead].',
      'drkit.config.yaml: notify.routes.P1.within: expected a duration like 15m, got "soon". Fix: write ' +
        'whole numbers with a unit (s = seconds, m = minutes, h = hours, d = days, w = weeks, y = 365 days), ' +
        'e.g. within: 15m.',
      'drkit.config.yaml: notify.routes.P1.escalate: expected a list of steps with after and channels, got ' +
        'an empty list. Fix: write a list, e.g. escalate: [{ after: 30m, channels: [phone] }].',
      'drkit.config.yaml: notify.routes.P2[0].channels: required but missing. Fix: add channels: [ops-slack].',
      'drkit.config.yaml: notify.routes.P2[0]: unknown key "chanels". Did you mean "channels"? Allowed ' +
        'keys: match, channels, within, digest, repeat_every, escalate, expire_after.',
      'drkit.config.yaml: notify.routes: unknown key "P5". Fix: remove it. Allowed keys: P1, P2, P3, P4.',
      'drkit.config.yaml: notify.channels.bad name: channel name "bad name" is not usable. Fix: use ' +
        'letters, digits, "_" and "-" (at most 32, starting with a letter or digit), e.g. ops-slack.',
    ]);
    expect(lines.join('\n')).not.toMatch(/s3cr3t|42/);
  });
});
