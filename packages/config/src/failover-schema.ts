import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';
import { explain } from './explain.js';
import { hinted } from './hints.js';

/** A failover duration: the usual units, plus `ms` for probe timeouts and latency limits. */
export function failoverDurationMs(text: string): number | undefined {
  const ms = /^(\d+)ms$/.exec(text);
  return ms ? Number(ms[1]) : durationMs(text);
}
const duration = (example: string) =>
  hinted(
    z.string().refine((text) => failoverDurationMs(text) !== undefined && failoverDurationMs(text)! > 0),
    {
      expected: `a positive duration like ${example}`,
      write: `whole numbers with a unit (ms, ${DURATION_UNITS})`,
      example,
    },
  );
const percent = (example: string) =>
  hinted(z.string().regex(/^\d{1,2}(\.\d+)?%$|^100%$/), {
    expected: 'a percentage from 0% to 100%',
    write: 'a number with %',
    example,
  });
const url = (example: string) =>
  hinted(
    z.string().refine((text) => {
      try {
        return ['http:', 'https:'].includes(new URL(text).protocol);
      } catch {
        return false;
      }
    }),
    { expected: 'an http:// or https:// URL', write: 'a URL', example },
  );
const text = (expected: string, example: string) => hinted(z.string().min(1), { expected, write: 'text', example });
const timing = {
  name: text('a name for the probe', 'web').optional(),
  interval: duration('10s').optional(),
  timeout: duration('2s').optional(),
};

export const probeSchema = hinted(
  z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('http'),
      url: url('"http://127.0.0.1:3000/health"'),
      status: hinted(z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?$/), {
        expected: 'a status or range like 200-299',
        write: 'a quoted range',
        example: '"200-299"',
      }).optional(),
      latency: duration('500ms').optional(),
      body: text('text the body must contain', 'ok').optional(),
      ...timing,
    }),
    z.strictObject({
      type: z.literal('tcp'),
      host: text('a host name or address', '127.0.0.1'),
      port: hinted(z.int().min(1).max(65535), {
        expected: 'a port from 1 to 65535',
        write: 'a number',
        example: '5432',
      }),
      ...timing,
    }),
    z.strictObject({
      type: z.literal('redis'),
      url: hinted(z.string().regex(/^rediss?:\/\//i), {
        expected: 'a redis:// URL',
        write: 'a URL',
        example: '"redis://127.0.0.1:6379"',
      }),
      ...timing,
    }),
    z.strictObject({ type: z.literal('command'), command: text('a shell command', '"pg_isready -q"'), ...timing }),
  ]),
  {
    expected: 'a probe with a type (http, tcp, redis or command)',
    write: 'a probe',
    example: '{ type: http, url: "http://127.0.0.1:3000/health" }',
  },
);
const probes = hinted(z.array(probeSchema).min(1), {
  expected: 'a list of at least one probe',
  write: 'a list',
  example: '[{ type: http, url: "http://127.0.0.1:3000/health" }]',
});
const site = (example: string) =>
  hinted(z.strictObject({ probes }), { expected: 'a mapping with probes', write: 'probes under it', example });

const stepLimits = {
  timeout: duration('1m').optional(),
  retries: hinted(z.int().min(0).max(10), {
    expected: 'a number of retries from 0 to 10',
    write: 'a number',
    example: '2',
  }).optional(),
};
const hook = z
  .strictObject({
    command: text('a shell command', '"systemctl start app@standby"').optional(),
    webhook: url('"https://dns-hook.internal/switch"').optional(),
    ...stepLimits,
  })
  .superRefine((h, ctx) => {
    if ((h.command === undefined) === (h.webhook === undefined))
      ctx.addIssue({
        code: 'custom',
        input: h,
        path: [],
        message:
          'needs exactly one of command or webhook. Fix: write e.g. { command: "systemctl start ' +
          'app@standby" } or { webhook: "https://dns-hook.internal/switch" }.',
      });
  });
const STEP_KINDS = ['activate', 'restore', 'dns', 'verify'] as const;
const restoreStep = z.strictObject({
  sources: hinted(z.array(z.string().min(1)).min(1), {
    expected: 'a list of source names',
    write: 'a list',
    example: '[data, config]',
  }),
  snapshot: text('latest:clean, latest or a snapshot id', 'latest:clean').default('latest:clean'),
  target: hinted(z.record(z.string(), z.string().min(1)), {
    expected: 'a folder (or redis:// URL) per source',
    write: 'source: path lines',
    example: '{ data: /srv/standby/data }',
  }),
  ...stepLimits,
});
const verifyStep = z.strictObject({ for: duration('2m'), ...stepLimits });

/** One step: a mapping with exactly one of activate, restore, dns, verify. */
const stepSchema = z.unknown().superRefine((value, ctx) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length !== 1) {
    ctx.addIssue({
      code: 'custom',
      input: value,
      message:
        `expected a step: a mapping with one of ${STEP_KINDS.join(', ')}. Fix: write e.g. - activate: { ` +
        `command: "systemctl start app@standby" }.`,
    });
    return;
  }
  const [kind, body] = Object.entries(value)[0]!;
  if (!(STEP_KINDS as readonly string[]).includes(kind)) {
    ctx.addIssue({
      code: 'custom',
      input: value,
      path: [kind],
      message: `unknown step "${kind}". Fix: use one of ${STEP_KINDS.join(', ')}.`,
    });
    return;
  }
  const schema = kind === 'restore' ? restoreStep : kind === 'verify' ? verifyStep : hook;
  const parsed = schema.safeParse(body, { error: explain });
  if (!parsed.success)
    for (const issue of parsed.error.issues)
      ctx.addIssue({
        ...issue,
        code: 'custom',
        input: undefined,
        path: [kind, ...issue.path],
        message: issue.message,
      } as never);
});

/** Where leases live (failover's, and the scheduler's job leases). */
export const leaseSchema = hinted(
  z.discriminatedUnion('backend', [
    z.strictObject({
      backend: z.literal('file'),
      path: text('a folder for the lease files', './drkit-state/leases'),
      ttl: duration('15s').default('15s'),
    }),
    z.strictObject({
      backend: z.literal('redis'),
      url: hinted(z.string().regex(/^rediss?:\/\//i), {
        expected: 'a redis:// URL',
        write: 'a URL',
        example: '"redis://127.0.0.1:6379"',
      }),
      ttl: duration('15s').default('15s'),
    }),
    z.strictObject({
      backend: z.literal('etcd'),
      endpoints: hinted(z.array(z.string().min(1)).min(1), {
        expected: 'a list of etcd endpoints',
        write: 'a list',
        example: '["127.0.0.1:2379"]',
      }),
      ttl: duration('15s').default('15s'),
    }),
  ]),
  {
    expected: 'a lease backend (file, redis or etcd)',
    write: 'a lease',
    example: '{ backend: etcd, endpoints: ["127.0.0.1:2379"], ttl: 15s }',
  },
);

export const failoverSchema = hinted(
  z
    .strictObject({
      site: hinted(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/i), {
        expected: 'a site name of letters, digits, "_" and "-"',
        write: 'a name',
        example: 'app',
      }).default('default'),
      primary: site('{ probes: [{ type: http, url: "http://primary:3000/health" }] }'),
      standby: site('{ probes: [{ type: http, url: "http://standby:3000/health" }] }'),
      triggers: z
        .strictObject({
          unreachable_for: duration('5m').default('5m'),
          error_rate: percent('10%').default('10%'),
          error_window: duration('10m').default('10m'),
          min_samples: hinted(z.int().min(1), {
            expected: 'a whole number ≥ 1',
            write: 'a number',
            example: '20',
          }).default(20),
          recover_below: percent('5%').default('5%'),
          recover_for: duration('5m').default('5m'),
        })
        .prefault({}),
      monitors: hinted(z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/i)).min(1), {
        expected: 'a list of monitor names',
        write: 'a list',
        example: '[eu-1, us-1, ap-1]',
      }).optional(),
      quorum: hinted(z.int().min(1), { expected: 'a whole number ≥ 1', write: 'a number', example: '2' }).default(1),
      quorum_within: duration('1m').default('1m'),
      lease: leaseSchema,
      cooldown: duration('1h').default('1h'),
      max_per_day: hinted(z.int().min(1), { expected: 'a whole number ≥ 1', write: 'a number', example: '1' }).default(
        1,
      ),
      steps: hinted(z.array(stepSchema).min(1), {
        expected: 'a list of steps',
        write: 'a list',
        example: '[{ activate: { command: "systemctl start app@standby" } }]',
      }),
    })
    .superRefine((f, ctx) => {
      const listed = f.monitors?.length ?? 1;
      if (f.quorum > listed)
        ctx.addIssue({
          code: 'custom',
          input: f.quorum,
          path: ['quorum'],
          message:
            `quorum ${f.quorum} is more than the ${listed} monitor(s) listed` +
            `${f.monitors ? '' : ' (none listed: one)'}. Fix: list the monitors (monitors: [eu-1, us-1, ap-1]) ` +
            `or lower the quorum.`,
        });
    }),
  {
    expected: 'failover settings',
    write: 'settings under failover',
    example: '{ primary: …, standby: …, lease: …, steps: … }',
  },
);

export type FailoverConfig = z.output<typeof failoverSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
