import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';
import { drillSchema } from './drill-schema.js';
import { explain } from './explain.js';
import { probeSchema } from './failover-schema.js';
import { runbooksSchema } from './runbook-schema.js';
import { hinted } from './hints.js';
import { failoverSchema } from './failover-schema.js';
import { checkContacts, contactsSchema, notifySchema } from './notify-schema.js';
import { objectivesSchema, scheduleSchema, schedulerSchema } from './schedule-schema.js';
import { statusPageSchema } from './status-page-schema.js';

// The example is a typical value for that rule, shown in the fix.
const count = (example: number) =>
  hinted(z.int().min(0), { expected: 'a whole number ≥ 0', write: 'a number', example: String(example) }).optional();

// Defaults are functions so every parsed config gets its own arrays.
const globs = (example: string, fallback: string[]) =>
  hinted(
    z.array(hinted(z.string(), { expected: 'a glob pattern', write: 'a quoted pattern', example: `"${example}"` })),
    {
      expected: 'a list of glob patterns',
      write: 'a list',
      example: `["${example}"]`,
    },
  ).default(() => [...fallback]);

const trustKey = hinted(z.string().regex(/^ed25519:[A-Za-z0-9+/]{43}=$/), {
  expected: 'a public signing key as drkit init printed it (ed25519: and 44 base64 characters)',
  write: 'a quoted key',
  example: '"ed25519:…"',
});

/** A URL scheme prefix; anything without one is a folder path. */
export const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export const fileSourceSchema = z.strictObject({
  name: hinted(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i), {
    expected: 'a name made of letters, digits, ".", "_" or "-" that starts with a letter or digit',
    write: 'such a name',
    example: 'data',
  }),
  type: z.literal('files'),
  path: hinted(z.string().min(1), { expected: 'a folder path', write: 'a path', example: './data' }),
  include: globs('**', ['**']),
  exclude: globs('*.tmp', []),
});

const endpoint = hinted(z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-f:.]+\]:\d{1,5}$/i), {
  expected: 'host:port',
  write: 'a host and port',
  example: '"10.0.0.5:26379"',
});
const endpoints = hinted(z.array(endpoint).min(1), {
  expected: 'a list of host:port',
  write: 'a list',
  example: '["10.0.0.5:26379"]',
});

/**
 * A Redis deployment, in exactly one of the forms ioredis supports: `url`, `host`/`port`,
 * `sentinel` or `cluster`. Secrets belong in `${ENV}` references; drkit never prints them.
 */
export const redisSourceSchema = z
  .strictObject({
    name: fileSourceSchema.shape.name,
    type: z.literal('redis'),
    url: hinted(z.string().regex(/^rediss?:\/\//i), {
      expected: 'a redis:// or rediss:// URL',
      write: 'a URL',
      example: `redis://:\${REDIS_PASSWORD}@cache:6379/0`,
    }).optional(),
    host: hinted(z.string().min(1), {
      expected: 'a host name or address',
      write: 'a host',
      example: 'cache.internal',
    }).optional(),
    port: hinted(z.int().min(1).max(65535), {
      expected: 'a port number',
      write: 'a number',
      example: '6379',
    }).optional(),
    username: z.string().optional(),
    password: hinted(z.string(), {
      expected: `a password (use \${ENV_VAR})`,
      write: 'an environment reference',
      example: `\${REDIS_PASSWORD}`,
    }).optional(),
    tls: z
      .union([
        z.boolean(),
        z.strictObject({
          ca_file: z.string().min(1).optional(),
          reject_unauthorized: z.boolean().optional(),
          servername: z.string().optional(),
        }),
      ])
      .optional(),
    /** Databases to back up: a list, or `all`; default: the URL's `/db`, else all that hold keys. */
    dbs: hinted(z.union([z.literal('all'), z.array(z.int().min(0)).min(1)]), {
      expected: 'a list of database numbers, or all',
      write: 'a list or all',
      example: '[0, 1]',
    }).optional(),
    pattern: hinted(z.string().min(1), {
      expected: 'a SCAN MATCH glob',
      write: 'a quoted pattern',
      example: '"session:*"',
    }).optional(),
    sentinel: z
      .strictObject({
        master_name: z.string().min(1),
        nodes: endpoints,
        username: z.string().optional(),
        password: z.string().optional(),
        read_from: z.enum(['master', 'replica']).default('master'),
      })
      .optional(),
    cluster: z.strictObject({ nodes: endpoints }).optional(),
  })
  .superRefine((source, ctx) => {
    const forms = (['url', 'host', 'sentinel', 'cluster'] as const).filter((k) => source[k] !== undefined);
    if (forms.length !== 1)
      ctx.addIssue({
        code: 'custom',
        input: source,
        path: [],
        message: `${
          forms.length === 0 ? 'says nowhere where Redis is' : `gives ${forms.join(' and ')}, which do not go together`
        }. Fix: give exactly one of url, host (with port), sentinel or cluster, e.g. url: redis://cache:6379/0.`,
      });
    if (source.cluster && Array.isArray(source.dbs) && source.dbs.some((d) => d !== 0))
      ctx.addIssue({
        code: 'custom',
        input: source.dbs,
        path: ['dbs'],
        message: 'a Redis Cluster has only database 0. Fix: remove dbs, or write dbs: [0].',
      });
  });

// New source types are added to this list; errors list the allowed `type` values from it.
export const sourceSchema = hinted(z.discriminatedUnion('type', [fileSourceSchema, redisSourceSchema]), {
  expected: 'a source with name, type and path',
  write: 'a source',
  example: '{ name: data, type: files, path: ./data }',
});

export const retentionSchema = hinted(
  z.strictObject({
    keep_last: count(7),
    keep_hourly: count(24),
    keep_daily: count(7),
    keep_weekly: count(4),
    keep_monthly: count(12),
    keep_yearly: count(1),
    keep_within: hinted(
      z.string().refine((text) => durationMs(text) !== undefined),
      { expected: 'a duration like 30d', write: `whole numbers with a unit (${DURATION_UNITS})`, example: '30d' },
    ).default('30d'),
    keep_tags: hinted(z.array(z.string()), {
      expected: 'a list of tags',
      write: 'a list',
      example: '[clean]',
    }).optional(),
  }),
  {
    expected: 'retention rules (key: value lines)',
    write: 'rules indented under retention',
    example: '{ keep_daily: 7 }',
  },
);

// Unique names let snapshots and restores refer to a source unambiguously. Runs even when some
// sources are invalid (so all problems show at once), hence the defensive reads.
function checkUniqueNames(sources: readonly unknown[], ctx: z.core.$RefinementCtx): void {
  const firstIndex = new Map<string, number>();
  sources.forEach((source, index) => {
    const name = (source as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else
      ctx.addIssue({
        code: 'custom',
        input: name,
        path: [index, 'name'],
        message:
          `duplicate source name "${name}" (already used by sources[${first}]). Fix: give each source a ` +
          `unique name.`,
      });
  });
}

/** A repository written as a URL rather than a folder path: `file://`, `s3://` or restic's `s3:http://…`. */
export function isLocationUrl(text: string): boolean {
  return URL_SCHEME.test(text) || /^s3:/i.test(text);
}

const repositoryUrl = hinted(
  z
    .string()
    .min(1)
    .refine((text) => !URL_SCHEME.test(text) || /^(file|s3):\/\//i.test(text)),
  {
    expected: 'a folder path, file:// URL, s3://bucket/prefix or s3:http://host:port/bucket/prefix',
    write: 'a path or URL',
    example: '/var/backups/drkit',
  },
);

const text = (expected: string, example: string) =>
  hinted(z.string().min(1), { expected, write: 'a value', example }).optional();

/**
 * The repository in fields, for what a URL cannot say (credentials, tuning). Exactly one of
 * `url`, `path` or `bucket`; secrets belong in `${ENV}` references, not in the file.
 */
export const repositoryFieldsSchema = z
  .strictObject({
    url: repositoryUrl.optional(),
    path: text('a folder path', '/var/backups/drkit'),
    bucket: text('an S3 bucket name', 'backups'),
    prefix: text('a key prefix inside the bucket', 'app-1'),
    endpoint: hinted(z.string().regex(/^https?:\/\/[^\s/]+\/?$/i), {
      expected: 'an http(s)://host:port URL',
      write: 'a URL',
      example: 'http://127.0.0.1:9000',
    }).optional(),
    region: text('an AWS region', 'eu-west-1'),
    force_path_style: hinted(z.boolean(), {
      expected: 'true or false',
      write: 'a boolean',
      example: 'true',
    }).optional(),
    access_key_id: text('an access key id', `\${AWS_ACCESS_KEY_ID}`),
    secret_access_key: text('a secret access key', `\${AWS_SECRET_ACCESS_KEY}`),
    session_token: text('a session token', `\${AWS_SESSION_TOKEN}`),
    part_size_mib: hinted(z.int().min(5).max(5120), {
      expected: 'a whole number of MiB from 5 to 5120',
      write: 'a number',
      example: '16',
    }).optional(),
    checksums: z.enum(['when_required', 'when_supported']).optional(),
  })
  .superRefine((r, ctx) => {
    const forms = (['url', 'path', 'bucket'] as const).filter((k) => r[k] !== undefined);
    if (forms.length !== 1)
      ctx.addIssue({
        code: 'custom',
        input: r,
        path: [],
        message: `${
          forms.length === 0
            ? 'says nowhere where the repository is'
            : `gives ${forms.join(' and ')}, which do not go together`
        }. Fix: give exactly one of url, path or bucket, e.g. url: s3://backups/app-1.`,
      });
    if ((r.access_key_id === undefined) !== (r.secret_access_key === undefined))
      ctx.addIssue({
        code: 'custom',
        input: r,
        path: [],
        message:
          `access_key_id and secret_access_key go together. Fix: give both (e.g. from \${AWS_ACCESS_KEY_ID} ` +
          `and \${AWS_SECRET_ACCESS_KEY}), or neither to use the AWS credential chain.`,
      });
  });

/** `repository:` as a URL or path string, or as fields; the form decides which errors apply. */
const repositoryAsFields = z.object({ repository: repositoryFieldsSchema });
const repositoryAsUrl = z.object({ repository: repositoryUrl });
export const repositorySchema = z
  .unknown()
  .transform((value, ctx): string | z.output<typeof repositoryFieldsSchema> => {
    // Parsed under its own key so that error messages name and exemplify `repository:` as usual.
    const parsed = (typeof value === 'object' && value !== null ? repositoryAsFields : repositoryAsUrl).safeParse(
      { repository: value },
      { error: explain },
    );
    if (parsed.success) return parsed.data.repository;
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: 'custom', input: value, path: issue.path.slice(1), message: issue.message });
    return z.NEVER;
  });

/** The state store: a folder (default ./drkit-state) or a Redis URL. */
export const stateSchema = hinted(
  z
    .string()
    .min(1)
    .refine((text) => !URL_SCHEME.test(text) || /^rediss?:\/\//i.test(text)),
  { expected: 'a folder path or a redis:// URL', write: 'a path or URL', example: './drkit-state' },
);

export const configSchema = z
  .strictObject({
    repository: repositorySchema.optional(),
    compression: z.enum(['auto', 'zstd', 'gzip']).default('auto'),
    sources: hinted(z.array(sourceSchema).min(1), {
      expected: 'a list of at least one source',
      write: 'a list',
      example: '[{ name: data, type: files, path: ./data }]',
    }).superRefine(checkUniqueNames, { when: (payload) => Array.isArray(payload.value) }),
    // prefault (not default) so a missing section still gets its fields' defaults.
    retention: retentionSchema.prefault({}),
    backup: hinted(
      z.strictObject({
        full_every: hinted(
          z.string().refine((text) => durationMs(text) !== undefined),
          {
            expected: 'a duration like 7d',
            write: `whole numbers with a unit (${DURATION_UNITS})`,
            example: '7d',
          },
        ).optional(),
        rehash: z.boolean().default(false),
      }),
      {
        expected: 'backup settings (key: value lines)',
        write: 'settings indented under backup',
        example: '{ full_every: 7d }',
      },
    ).prefault({}),
    validation: hinted(z.strictObject({ jsonl: globs('**/*.jsonl', ['**/*.jsonl']) }), {
      expected: 'validation settings (key: value lines)',
      write: 'settings indented under validation',
      example: '{ jsonl: ["**/*.jsonl"] }',
    }).prefault({}),
    /** The Ed25519 private key backups sign snapshots with (a PEM file). */
    signing_key: hinted(z.string().min(1), {
      expected: 'the path of a signing key file',
      write: 'a path',
      example: '/etc/drkit/signing-key.pem',
    }).optional(),
    /** Public keys this host trusts: every snapshot read must be signed by one of them. */
    trust_keys: hinted(z.array(trustKey).min(1), {
      expected: 'a list of public signing keys',
      write: 'a list',
      example: '["ed25519:…"]',
    }).optional(),
    state: stateSchema.optional(),
    notify: notifySchema.optional(),
    contacts: contactsSchema.optional(),
    status_page: statusPageSchema.optional(),
    failover: failoverSchema.optional(),
    /** No `schedule:` at all: the DR plan's (@drkit/scheduler's defaultJobs). */
    schedule: scheduleSchema.optional(),
    scheduler: schedulerSchema.optional(),
    objectives: objectivesSchema.optional(),
    /** How to tell the live service is healthy: runbook steps with `probes: service`. */
    health: hinted(z.array(probeSchema).min(1), {
      expected: 'a list of probes of the live service',
      write: 'a list',
      example: '[{ type: http, url: "http://127.0.0.1:3000/health" }]',
    }).optional(),
    drill: drillSchema.optional(),
    /** Runbooks of this service: they override built-in ones of the same name. */
    runbooks: runbooksSchema.optional(),
  })
  .superRefine(checkContacts);

export type DrkitConfig = z.output<typeof configSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type FileSourceConfig = z.output<typeof fileSourceSchema>;
export type RedisSourceConfig = z.output<typeof redisSourceSchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
export type RepositoryFieldsConfig = z.output<typeof repositoryFieldsSchema>;
export type RepositoryConfig = string | RepositoryFieldsConfig;
