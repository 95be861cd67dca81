import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';
import { probeSchema } from './failover-schema.js';
import { hinted } from './hints.js';

const duration = (example: string) =>
  hinted(
    z.string().refine((text) => (durationMs(text) ?? 0) > 0),
    {
      expected: `a positive duration like ${example}`,
      write: `whole numbers with a unit (${DURATION_UNITS})`,
      example,
    },
  );
const text = (expected: string, example: string) => hinted(z.string().min(1), { expected, write: 'text', example });
const sourceName = hinted(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i), {
  expected: 'the name of a source of the config',
  write: 'a source name',
  example: 'data',
});
const sourceNames = hinted(z.array(sourceName).min(1), {
  expected: 'a list of source names',
  write: 'a list',
  example: '[data]',
});
const snapshotRef = hinted(z.string().regex(/^(latest(:[^\s]+)?|[0-9]{8}T[0-9]{6}Z(-[0-9a-f]{1,6})?)$/), {
  expected: 'latest, latest:TAG or a snapshot id',
  write: 'a snapshot reference',
  example: 'latest:clean',
});
const globList = (example: string) =>
  hinted(z.array(z.string().min(1)).min(1), {
    expected: 'a list of glob patterns',
    write: 'a list',
    example: `["${example}"]`,
  });

/** Probes, or `service`: the config's `health:` probes of the live service. */
const probesField = hinted(z.union([z.literal('service'), z.array(probeSchema).min(1)]), {
  expected: 'service, or a list of probes',
  write: 'service or a list',
  example: '[{ type: http, url: "http://127.0.0.1:3000/health" }]',
}).default('service');

/** A step's own id (what `--from` names) and how long it may take. */
const common = {
  id: hinted(z.string().regex(/^[a-z0-9][a-z0-9-]*$/), {
    expected: 'a step id of lower-case letters, digits and "-"',
    write: 'such an id',
    example: 'restore-data',
  }).optional(),
  title: text('what the step does, for people', 'Restore the data folder').optional(),
  timeout: duration('10m').optional(),
};

export const RUNBOOK_STEP_TYPES = [
  'probe',
  'wait-until-healthy',
  'command',
  'backup',
  'restore',
  'verify',
  'revoke-tokens',
  'rotate-secrets',
  'log-scan',
  'notify',
  'failover',
  'confirm',
] as const;

export const runbookStepSchema = hinted(
  z.discriminatedUnion('type', [
    /** Runs the probes once; fails unless every one passes. */
    z.strictObject({ type: z.literal('probe'), probes: probesField, ...common }),
    /** Waits until every probe passes (at most `within`). */
    z.strictObject({
      type: z.literal('wait-until-healthy'),
      probes: probesField,
      within: duration('5m').default('5m'),
      ...common,
    }),
    z.strictObject({ type: z.literal('command'), run: text('a shell command', '"systemctl stop app"'), ...common }),
    z.strictObject({
      type: z.literal('backup'),
      emergency: z.boolean().default(false),
      tags: z.array(z.string().min(1)).default(() => []),
      ...common,
    }),
    z.strictObject({
      type: z.literal('restore'),
      snapshot: snapshotRef.default('latest'),
      /** Default: every source of the config, each into its own path (files) or server (redis). */
      sources: sourceNames.optional(),
      /** Files: a folder to restore into instead of each source's own path. */
      target: text('a folder path', '/srv/restore').optional(),
      ...common,
    }),
    z.strictObject({
      type: z.literal('verify'),
      snapshot: snapshotRef.default('latest'),
      mark_clean: z.boolean().default(false),
      ...common,
    }),
    z.strictObject({
      type: z.literal('revoke-tokens'),
      /** Default: the config's first Redis source. */
      source: sourceName.optional(),
      pattern: text('a SCAN MATCH glob', '"token:*"'),
      ...common,
    }),
    z.strictObject({
      type: z.literal('rotate-secrets'),
      env_file: text('an env file path', '/srv/app/.env'),
      keys: hinted(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).min(1), {
        expected: 'a list of variable names',
        write: 'a list',
        example: '[JWT_SECRET]',
      }),
      ...common,
    }),
    /** Default glob: every *.log below each file source. */
    z.strictObject({
      type: z.literal('log-scan'),
      glob: globList('logs/**/*.log').optional(),
      patterns: z.array(z.string().min(1)).optional(),
      ...common,
    }),
    z.strictObject({
      type: z.literal('notify'),
      message: text('the timeline entry', '"Restored from the last clean snapshot"'),
      status: z.enum(['investigating', 'identified', 'monitoring', 'resolved']).optional(),
      internal: z.boolean().default(false),
      ...common,
    }),
    /** Failover's steps (#8): trigger moves to the standby, failback returns. */
    z.strictObject({
      type: z.literal('failover'),
      action: z.enum(['trigger', 'failback']).default('trigger'),
      ...common,
    }),
    /** A human gate: `--yes` or an answer at the prompt; never skipped silently. */
    z.strictObject({
      type: z.literal('confirm'),
      message: text('the question', '"Stop writes to the service?"'),
      ...common,
    }),
  ]),
  {
    expected: `a step with a type (${RUNBOOK_STEP_TYPES.join(', ')})`,
    write: 'a step',
    example: '{ type: command, run: "systemctl stop app" }',
  },
);

export const runbookSchema = hinted(
  z
    .strictObject({
      description: text('what the runbook is for', '"The primary server is gone"'),
      /** The incident a run opens when none is given. */
      severity: z.enum(['P1', 'P2', 'P3', 'P4']).default('P2'),
      component: z.string().min(1).optional(),
      steps: hinted(z.array(runbookStepSchema).min(1), {
        expected: 'a list of at least one step',
        write: 'a list',
        example: '[{ type: command, run: "true" }]',
      }),
    })
    .superRefine((book, ctx) => {
      const seen = new Set<string>();
      book.steps.forEach((step, i) => {
        const id = stepId(step, i);
        if (seen.has(id))
          ctx.addIssue({
            code: 'custom',
            input: step,
            path: ['steps', i, 'id'],
            message: `duplicate step id "${id}". Fix: give each step its own id.`,
          });
        seen.add(id);
      });
    }),
  {
    expected: 'a runbook (description, steps)',
    write: 'a runbook',
    example: '{ description: "…", steps: [{ type: command, run: "true" }] }',
  },
);

export type RunbookStep = z.output<typeof runbookStepSchema>;
export type RunbookConfig = z.output<typeof runbookSchema>;

/** A step's id: its own, else its type and position (`restore-3`). */
export function stepId(step: { id?: string | undefined; type: string }, index: number): string {
  return step.id ?? `${step.type}-${index + 1}`;
}

export const runbooksSchema = hinted(
  z.record(
    hinted(z.string().regex(/^[a-z0-9][a-z0-9-]*$/), {
      expected: 'a runbook name of lower-case letters, digits and "-"',
      write: 'such a name',
      example: 'server-failure',
    }),
    runbookSchema,
  ),
  {
    expected: 'runbooks by name',
    write: 'a mapping of names to runbooks',
    example: '{ my-runbook: { description: "…", steps: [] } }',
  },
);
