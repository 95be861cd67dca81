import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';
import { closest, explain } from './explain.js';
import { hinted } from './hints.js';

/** Channel names and contact roles end up in state keys and messages: letters, digits, `_` and `-`. */
export const NOTIFY_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
/** `role:devops-lead` in a channel's `to:` names a contact by role, so a roster change is one edit. */
export const ROLE_REFERENCE = /^role:(.+)$/;
const EMAIL = /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/;
const PHONE = /^\+[1-9]\d{6,14}$/;

const duration = (example: string) =>
  hinted(
    z.string().refine((text) => durationMs(text) !== undefined),
    { expected: `a duration like ${example}`, write: `whole numbers with a unit (${DURATION_UNITS})`, example },
  );

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
const httpUrl = (example: string) =>
  hinted(z.string().refine(isHttpUrl), { expected: 'an http:// or https:// URL', write: 'a URL', example });

export interface SmtpUrl {
  /** smtps:// (TLS from the start, usually port 465); smtp:// upgrades with STARTTLS. */
  secure: boolean;
  host: string;
  port: number;
  user?: string;
  password?: string;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * `smtp://user:password@host:port` or `smtps://…`, split at the LAST `@` so that a password from
 * `${SMTP_PASSWORD}` may hold `@`, `/`, `#` or `:` unencoded. A string says what is wrong, never the value.
 */
export function parseSmtpUrl(text: string): SmtpUrl | string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (!scheme) return 'is not a URL (it must start with smtp:// or smtps://)';
  const protocol = scheme[1]!.toLowerCase();
  if (protocol !== 'smtp' && protocol !== 'smtps') return `has the scheme ${protocol}://, not smtp:// or smtps://`;
  const after = text.slice(scheme[0].length);
  const at = after.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : after.slice(0, at);
  const hostPart = (at === -1 ? after : after.slice(at + 1)).replace(/\/$/, '');
  const m = /^(\[[0-9a-f:.]+\]|[^\s:/?#[\]]+)(?::(\d*))?$/i.exec(hostPart);
  if (!m) return hostPart === '' ? 'has no host' : 'has a host part that is not host or host:port';
  const port = m[2] === undefined ? (protocol === 'smtps' ? 465 : 587) : Number(m[2]);
  if (m[2] === '' || !Number.isInteger(port) || port < 1 || port > 65535)
    return 'has a port that is not a number from 1 to 65535';
  const colon = userinfo?.indexOf(':') ?? -1;
  return {
    secure: protocol === 'smtps',
    host: m[1]!.replace(/^\[|\]$/g, ''),
    port,
    ...(userinfo !== undefined ? { user: decode(colon === -1 ? userinfo : userinfo.slice(0, colon)) } : {}),
    ...(userinfo !== undefined && colon !== -1 ? { password: decode(userinfo.slice(colon + 1)) } : {}),
  };
}

const smtpUrl = z.string().superRefine((text, ctx) => {
  const parsed = parseSmtpUrl(text);
  if (typeof parsed === 'string')
    ctx.addIssue({
      code: 'custom',
      input: '***',
      message:
        `the SMTP URL ${parsed}. Fix: write smtp://USER:PASSWORD@HOST:587 (STARTTLS) or ` +
        `smtps://USER:PASSWORD@HOST:465, with the password from the environment, e.g. smtp_url: ` +
        `"smtp://drkit:\${SMTP_PASSWORD}@mail.example.com:587".`,
    });
});

const recipients = (one: string, many: string, example: string, ok: RegExp) =>
  hinted(
    z
      .array(
        hinted(
          z.string().refine((t) => ok.test(t) || ROLE_REFERENCE.test(t)),
          { expected: `${one} or role:NAME (a contact's role)`, write: 'one of those', example },
        ),
      )
      .min(1),
    {
      expected: `a list of ${many} or role:NAME references`,
      write: 'a list',
      example: `[${example}, role:devops-lead]`,
    },
  );

const timeout = duration('10s').optional();

export const slackChannelSchema = z.strictObject({
  type: z.literal('slack'),
  webhook_url: httpUrl(`"\${SLACK_WEBHOOK_URL}"`),
  timeout,
});
export const emailChannelSchema = z.strictObject({
  type: z.literal('email'),
  smtp_url: smtpUrl,
  from: hinted(z.string().regex(EMAIL), {
    expected: 'an email address',
    write: 'an address',
    example: 'drkit@example.com',
  }),
  to: recipients('an email address', 'email addresses', 'ops@example.com', EMAIL),
  /** PEM file of a private CA that signed the SMTP server's certificate. */
  ca_file: hinted(z.string().min(1), {
    expected: 'a PEM file path',
    write: 'a path',
    example: '/etc/ssl/private-ca.pem',
  }).optional(),
  timeout,
});
export const pagerdutyChannelSchema = z.strictObject({
  type: z.literal('pagerduty'),
  routing_key: hinted(z.string().min(1), {
    expected: 'an Events API v2 integration key',
    write: 'an environment reference',
    example: `"\${PD_ROUTING_KEY}"`,
  }),
  events_url: httpUrl('https://events.pagerduty.com/v2/enqueue').optional(),
  timeout,
});
export const twilioChannelSchema = z.strictObject({
  type: z.literal('twilio'),
  account_sid: hinted(z.string().min(1), {
    expected: 'a Twilio account SID',
    write: 'the SID',
    example: `"\${TWILIO_ACCOUNT_SID}"`,
  }),
  auth_token: hinted(z.string().min(1), {
    expected: 'a Twilio auth token',
    write: 'an environment reference',
    example: `"\${TWILIO_TOKEN}"`,
  }),
  from: hinted(z.string().regex(PHONE), {
    expected: 'a phone number in E.164 form',
    write: 'a quoted number',
    example: '"+15550100"',
  }),
  to: recipients('a phone number in E.164 form', 'E.164 phone numbers', '"+15550199"', PHONE),
  /** Call, text, or both (the default). */
  call: z.boolean().default(true),
  sms: z.boolean().default(true),
  base_url: httpUrl('https://api.twilio.com').optional(),
  timeout,
});
export const webhookChannelSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl('https://hooks.example.com/drkit'),
  headers: hinted(z.record(z.string(), z.string()), {
    expected: 'header: value lines',
    write: 'a mapping',
    example: `{ Authorization: "Bearer \${HOOK_TOKEN}" }`,
  }).optional(),
  timeout,
});
export const consoleChannelSchema = z.strictObject({ type: z.literal('console') });

// New channel types are added to this list; errors list the allowed `type` values from it.
export const channelSchema = hinted(
  z.discriminatedUnion('type', [
    slackChannelSchema,
    emailChannelSchema,
    pagerdutyChannelSchema,
    twilioChannelSchema,
    webhookChannelSchema,
    consoleChannelSchema,
  ]),
  {
    expected: 'a channel with a type',
    write: 'a channel',
    example: `{ type: slack, webhook_url: "\${SLACK_WEBHOOK_URL}" }`,
  },
);

const channelList = hinted(z.array(z.string()).min(1), {
  expected: 'a list of channel names',
  write: 'a list',
  example: '[ops-slack]',
});

export const routeSchema = hinted(
  z.strictObject({
    /** Labels the incident must have: `component` matches any of its components; a list matches any of its values. */
    match: hinted(z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])), {
      expected: 'label matchers',
      write: 'a mapping of label to value (or list of values)',
      example: '{ component: database }',
    }).optional(),
    channels: channelList,
    /** The deadline: every message of this route is due this long after its event. */
    within: duration('15m').optional(),
    /** Batch the window's events into one message per channel (default: P3 and P4). */
    digest: hinted(z.boolean(), { expected: 'true or false', write: 'a boolean', example: 'true' }).optional(),
    /** Send a reminder this often until someone acknowledges the incident. */
    repeat_every: duration('15m').optional(),
    /** Unacknowledged after `after` (since opened): also tell these channels. */
    escalate: hinted(z.array(z.strictObject({ after: duration('30m'), channels: channelList })).min(1), {
      expected: 'a list of steps with after and channels',
      write: 'a list',
      example: '[{ after: 30m, channels: [phone] }]',
    }).optional(),
    /** A message still undelivered this long after its deadline is given up (expired) and reported. */
    expire_after: duration('24h').optional(),
  }),
  {
    expected: 'a route (or a list of routes, first match wins)',
    write: 'a mapping',
    example: '{ channels: [ops-slack], within: 15m }',
  },
);
export type RouteConfig = z.output<typeof routeSchema>;

const routeLists = z.array(routeSchema).min(1);

/** A route or a list of routes, with errors named under their severity (not under a list index when there is none). */
function routeOrList(severity: string) {
  const one = z.object({ [severity]: routeSchema });
  const many = z.object({ [severity]: routeLists });
  return z
    .unknown()
    .transform((value, ctx): RouteConfig | RouteConfig[] => {
      const parsed = (Array.isArray(value) ? many : one).safeParse({ [severity]: value }, { error: explain });
      if (parsed.success) return parsed.data[severity] as RouteConfig | RouteConfig[];
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', input: value, path: issue.path.slice(1), message: issue.message });
      return z.NEVER;
    })
    .optional();
}

export const SEVERITY_NAMES = ['P1', 'P2', 'P3', 'P4'] as const;

function checkNotify(
  notify: { channels: Record<string, unknown>; routes: Partial<Record<string, RouteConfig | RouteConfig[]>> },
  ctx: z.core.$RefinementCtx,
): void {
  if (
    notify.channels === null ||
    typeof notify.channels !== 'object' ||
    notify.routes === null ||
    typeof notify.routes !== 'object'
  )
    return;
  const names = Object.keys(notify.channels);
  for (const name of names)
    if (!NOTIFY_NAME.test(name))
      ctx.addIssue({
        code: 'custom',
        input: name,
        path: ['channels', name],
        message:
          `channel name "${name}" is not usable. Fix: use letters, digits, "_" and "-" (at most 32, starting ` +
          `with a letter or digit), e.g. ops-slack.`,
      });
  const known = (ref: string, path: PropertyKey[]) => {
    if (names.includes(ref)) return;
    const guess = closest(ref, names);
    ctx.addIssue({
      code: 'custom',
      input: ref,
      path,
      message:
        `unknown channel "${ref}". ${guess ? `Did you mean "${guess}"? ` : ''}Fix: use a channel defined ` +
        `under notify.channels (${names.length ? names.join(', ') : 'none is defined yet'}), or define it there.`,
    });
  };
  for (const severity of SEVERITY_NAMES) {
    const routes = notify.routes[severity];
    if (routes === undefined) continue;
    const list = Array.isArray(routes) ? routes : [routes];
    list.forEach((route, i) => {
      const at: PropertyKey[] = Array.isArray(routes) ? ['routes', severity, i] : ['routes', severity];
      // Runs beside other errors (so all show at once): read defensively.
      const refs = (channels: unknown, where: PropertyKey[]) => {
        if (!Array.isArray(channels)) return;
        for (const [j, ref] of channels.entries()) if (typeof ref === 'string') known(ref, [...where, j]);
      };
      refs(route?.channels, [...at, 'channels']);
      if (Array.isArray(route?.escalate))
        for (const [k, step] of route.escalate.entries()) refs(step?.channels, [...at, 'escalate', k, 'channels']);
    });
  }
}

export const notifySchema = hinted(
  z
    .strictObject({
      channels: hinted(z.record(z.string(), channelSchema), {
        expected: 'channels by name',
        write: 'a mapping of name to channel',
        example: `{ ops-slack: { type: slack, webhook_url: "\${SLACK_WEBHOOK_URL}" } }`,
      }).default(() => ({})),
      routes: hinted(
        z.strictObject({ P1: routeOrList('P1'), P2: routeOrList('P2'), P3: routeOrList('P3'), P4: routeOrList('P4') }),
        {
          expected: 'routes by severity (P1 to P4)',
          write: 'a mapping',
          example: '{ P3: { channels: [ops-slack], within: 1h } }',
        },
      ).prefault({}),
      /** An open P1 for a component mutes P3/P4 notifications about the same component. */
      inhibit: hinted(z.boolean(), { expected: 'true or false', write: 'a boolean', example: 'true' }).default(true),
    })
    .superRefine(checkNotify, { when: () => true }),
  {
    expected: 'notify settings (channels, routes)',
    write: 'settings indented under notify',
    example: `{ channels: { ops-slack: { type: slack, webhook_url: "\${SLACK_WEBHOOK_URL}" } } }`,
  },
);

export const contactSchema = z.strictObject({
  role: hinted(z.string().regex(NOTIFY_NAME), {
    expected: 'a role of letters, digits, "_" or "-"',
    write: 'a role',
    example: 'devops-lead',
  }),
  name: hinted(z.string().min(1), { expected: "the person's name", write: 'a name', example: 'Ana Lima' }),
  phone: hinted(z.string().regex(PHONE), {
    expected: 'a phone number in E.164 form',
    write: 'a quoted number',
    example: '"+15550100"',
  }).optional(),
  email: hinted(z.string().regex(EMAIL), {
    expected: 'an email address',
    write: 'an address',
    example: 'ana@example.com',
  }).optional(),
});

export const contactsSchema = hinted(z.array(contactSchema), {
  expected: 'a list of contacts (role, name, phone, email)',
  write: 'a list',
  example: '[{ role: devops-lead, name: Ana Lima, phone: "+15550100", email: ana@example.com }]',
});

type ContactInput = { role?: unknown; phone?: unknown; email?: unknown };
type ChannelInput = { type?: unknown; to?: unknown };

/**
 * Each role once, and every `role:NAME` in a channel's `to:` names a contact that has the address that channel needs.
 */
export function checkContacts(
  config: { contacts?: readonly ContactInput[]; notify?: { channels?: Record<string, ChannelInput> } },
  ctx: z.core.$RefinementCtx,
): void {
  const contacts = config.contacts ?? [];
  const byRole = new Map<string, ContactInput>();
  contacts.forEach((contact, i) => {
    if (typeof contact.role !== 'string') return;
    if (byRole.has(contact.role))
      ctx.addIssue({
        code: 'custom',
        input: contact.role,
        path: ['contacts', i, 'role'],
        message: `duplicate role "${contact.role}". Fix: give each contact its own role (a person may hold several).`,
      });
    else byRole.set(contact.role, contact);
  });
  for (const [name, channel] of Object.entries(config.notify?.channels ?? {})) {
    if (!Array.isArray(channel.to)) continue;
    const field = channel.type === 'twilio' ? 'phone' : 'email';
    channel.to.forEach((to: unknown, i) => {
      const role = typeof to === 'string' ? ROLE_REFERENCE.exec(to)?.[1] : undefined;
      if (role === undefined) return;
      const contact = byRole.get(role);
      const path = ['notify', 'channels', name, 'to', i];
      if (!contact) {
        const guess = closest(role, [...byRole.keys()]);
        ctx.addIssue({
          code: 'custom',
          input: to,
          path,
          message:
            `no contact has the role "${role}". ${guess ? `Did you mean "role:${guess}"? ` : ''}Fix: add it ` +
            `to contacts (- { role: ${role}, name: …, ${field}: … }) or use one ` +
            `of: ${[...byRole.keys()].join(', ') || 'none yet'}.`,
        });
      } else if (typeof contact[field] !== 'string')
        ctx.addIssue({
          code: 'custom',
          input: to,
          path,
          message:
            `the contact with role "${role}" has no ${field}, which a ${channel.type} channel needs. Fix: ` +
            `add ${field}: to that contact.`,
        });
    });
  }
}

export type NotifyConfig = z.output<typeof notifySchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
export type ContactConfig = z.output<typeof contactSchema>;
