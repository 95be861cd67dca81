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

// New source types (e.g. redis) are added to this list; errors list the allowed `type` values from it.
export const sourceSchema = hinted(z.discriminatedUnion('type', [fileSourceSchema]), {
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
  validation: hinted(z.strictObject({ jsonl: globs('**/*.jsonl', ['**/*.jsonl']) }), {
    expected: 'validation settings (key: value lines)',
    write: 'settings indented under validation',
    example: '{ jsonl: ["**/*.jsonl"] }',
  }).prefault({}),
});

export type DrkitConfig = z.output<typeof configSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type FileSourceConfig = z.output<typeof fileSourceSchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
