import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';

/** How errors describe a field: what it must be, what to write instead, and an example value in YAML. */
export interface FieldHint {
  expected: string;
  write: string;
  example: string;
}
export const fieldHints = z.registry<FieldHint>();

function hinted<T extends z.ZodType>(schema: T, hint: FieldHint): T {
  fieldHints.add(schema, hint);
  return schema;
}

// The example is a typical value for that rule, shown in the fix.
const count = (example: number) => hinted(z.int().min(0), { expected: 'a whole number ≥ 0', write: 'a number', example: String(example) }).optional();

// Defaults are functions so every parsed config gets its own arrays.
const globs = (example: string, fallback: string[]) =>
  hinted(z.array(hinted(z.string(), { expected: 'a glob pattern', write: 'a quoted pattern', example: `"${example}"` })), {
    expected: 'a list of glob patterns',
    write: 'a list',
    example: `["${example}"]`,
  }).default(() => [...fallback]);

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
const endpoints = hinted(z.array(endpoint).min(1), { expected: 'a list of host:port', write: 'a list', example: '["10.0.0.5:26379"]' });

/**
 * A Redis deployment, in exactly one of the forms ioredis supports: `url`, `host`/`port`,
 * `sentinel` or `cluster`. Secrets belong in `${ENV}` references; drkit never prints them.
 */
export const redisSourceSchema = z
  .strictObject({
    name: fileSourceSchema.shape.name,
    type: z.literal('redis'),
    url: hinted(z.string().regex(/^rediss?:\/\//i), { expected: 'a redis:// or rediss:// URL', write: 'a URL', example: `redis://:\${REDIS_PASSWORD}@cache:6379/0` }).optional(),
    host: hinted(z.string().min(1), { expected: 'a host name or address', write: 'a host', example: 'cache.internal' }).optional(),
    port: hinted(z.int().min(1).max(65535), { expected: 'a port number', write: 'a number', example: '6379' }).optional(),
    username: z.string().optional(),
    password: hinted(z.string(), { expected: `a password (use \${ENV_VAR})`, write: 'an environment reference', example: `\${REDIS_PASSWORD}` }).optional(),
    tls: z
      .union([
        z.boolean(),
        z.strictObject({ ca_file: z.string().min(1).optional(), reject_unauthorized: z.boolean().optional(), servername: z.string().optional() }),
      ])
      .optional(),
    /** Databases to back up: a list, or `all`; default: the URL's `/db`, else all that hold keys. */
    dbs: hinted(z.union([z.literal('all'), z.array(z.int().min(0)).min(1)]), { expected: 'a list of database numbers, or all', write: 'a list or all', example: '[0, 1]' }).optional(),
    pattern: hinted(z.string().min(1), { expected: 'a SCAN MATCH glob', write: 'a quoted pattern', example: '"session:*"' }).optional(),
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
        message: `${forms.length === 0 ? 'says nowhere where Redis is' : `gives ${forms.join(' and ')}, which do not go together`}. Fix: give exactly one of url, host (with port), sentinel or cluster, e.g. url: redis://cache:6379/0.`,
      });
    if (source.cluster && Array.isArray(source.dbs) && source.dbs.some((d) => d !== 0))
      ctx.addIssue({ code: 'custom', input: source.dbs, path: ['dbs'], message: 'a Redis Cluster has only database 0. Fix: remove dbs, or write dbs: [0].' });
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
    keep_tags: hinted(z.array(z.string()), { expected: 'a list of tags', write: 'a list', example: '[clean]' }).optional(),
  }),
  { expected: 'retention rules (key: value lines)', write: 'rules indented under retention', example: '{ keep_daily: 7 }' },
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
        message: `duplicate source name "${name}" (already used by sources[${first}]). Fix: give each source a unique name.`,
      });
  });
}

export const configSchema = z.strictObject({
  repository: hinted(
    z.string().min(1).refine((text) => !URL_SCHEME.test(text) || /^(file|s3):\/\//i.test(text)),
    { expected: 'a folder path, file:// URL or s3:// URL', write: 'a path or URL', example: '/var/backups/drkit' },
  ).optional(),
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
      full_every: hinted(z.string().refine((text) => durationMs(text) !== undefined), {
        expected: 'a duration like 7d',
        write: `whole numbers with a unit (${DURATION_UNITS})`,
        example: '7d',
      }).optional(),
      rehash: z.boolean().default(false),
    }),
    { expected: 'backup settings (key: value lines)', write: 'settings indented under backup', example: '{ full_every: 7d }' },
  ).prefault({}),
  validation: hinted(z.strictObject({ jsonl: globs('**/*.jsonl', ['**/*.jsonl']) }), {
    expected: 'validation settings (key: value lines)',
    write: 'settings indented under validation',
    example: '{ jsonl: ["**/*.jsonl"] }',
  }).prefault({}),
});

export type DrkitConfig = z.output<typeof configSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type FileSourceConfig = z.output<typeof fileSourceSchema>;
export type RedisSourceConfig = z.output<typeof redisSourceSchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
