import * as z from 'zod';
import { DURATION_UNITS, durationMs } from './duration.js';
import { hinted } from './hints.js';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const isoTime = (example: string) =>
  hinted(z.iso.datetime({ offset: true }), {
    expected: 'a date and time in ISO 8601 with a time zone',
    write: 'a quoted time',
    example: `"${example}"`,
  });

const componentSchema = hinted(
  z.strictObject({
    name: hinted(z.string().min(1), {
      expected: 'the name incidents use (drkit incident open --component NAME)',
      write: 'a name',
      example: 'api',
    }),
    description: hinted(z.string(), {
      expected: 'one line for the public',
      write: 'text',
      example: '"The public HTTP API"',
    }).optional(),
  }),
  {
    expected: 'a component with a name (and a description)',
    write: 'a component',
    example: '{ name: api, description: "The public HTTP API" }',
  },
);

const maintenanceSchema = z
  .strictObject({
    title: hinted(z.string().min(1), {
      expected: 'a title for the public',
      write: 'a title',
      example: '"Database upgrade"',
    }),
    components: hinted(z.array(z.string().min(1)), {
      expected: 'a list of component names',
      write: 'a list',
      example: '[web]',
    }).default(() => []),
    starts: isoTime('2026-03-10T22:00:00Z'),
    ends: isoTime('2026-03-10T23:00:00Z'),
    message: hinted(z.string(), {
      expected: 'what users will notice',
      write: 'text',
      example: '"The web app is read-only."',
    }).optional(),
  })
  .superRefine((m, ctx) => {
    if (Date.parse(m.ends) <= Date.parse(m.starts))
      ctx.addIssue({
        code: 'custom',
        input: m.ends,
        path: ['ends'],
        message: `ends (${m.ends}) is not after starts (${m.starts}). Fix: give an end time later than the start.`,
      });
  });

/**
 * `status_page:`: what the static status page shows and where `drkit status-page publish` puts
 * it: a folder, or an S3 bucket/prefix away from the service it reports on.
 */
export const statusPageSchema = hinted(
  z
    .strictObject({
      title: hinted(z.string().min(1), {
        expected: 'the name of the service',
        write: 'a title',
        example: 'Acme',
      }).default('Service'),
      /** Where the page is served; summary.json links incidents to it. */
      url: hinted(z.url({ protocol: /^https?$/ }), {
        expected: 'an http(s):// URL',
        write: 'a URL',
        example: 'https://status.example.com/',
      }).optional(),
      components: hinted(z.array(componentSchema), {
        expected: 'a list of components',
        write: 'a list',
        example: '[{ name: api, description: "The public HTTP API" }]',
      }).default(() => []),
      target: hinted(
        z
          .string()
          .min(1)
          .refine((text) => !SCHEME.test(text) || /^(file|s3):\/\//i.test(text)),
        {
          expected: 'a folder path, file:// URL, s3://bucket/prefix or s3:http://host:port/bucket/prefix',
          write: 'a path or URL',
          example: 's3://status-example-com/status',
        },
      ).optional(),
      stale_after: hinted(
        z.string().refine((text) => (durationMs(text) ?? 0) > 0),
        { expected: 'a duration like 30m', write: `whole numbers with a unit (${DURATION_UNITS})`, example: '30m' },
      ).default('30m'),
      maintenance: hinted(z.array(maintenanceSchema), {
        expected: 'a list of maintenance windows',
        write: 'a list',
        example:
          '[{ title: "Database upgrade", components: [web], starts: "2026-03-10T22:00:00Z", ends: ' +
          '"2026-03-10T23:00:00Z" }]',
      }).default(() => []),
    })
    .superRefine((page, ctx) => {
      // Components are matched by name: a repeated name or a
      // maintenance window naming one that is not listed is a typo.
      const names = page.components.map((c) => c.name);
      names.forEach((name, index) => {
        if (names.indexOf(name) !== index)
          ctx.addIssue({
            code: 'custom',
            input: name,
            path: ['components', index, 'name'],
            message: `duplicate component name "${name}". Fix: list each component once.`,
          });
      });
      if (names.length === 0) return;
      page.maintenance.forEach((m, index) => {
        m.components.forEach((name, j) => {
          if (!names.includes(name))
            ctx.addIssue({
              code: 'custom',
              input: name,
              path: ['maintenance', index, 'components', j],
              message:
                `"${name}" is not one of status_page.components (${[...new Set(names)].join(', ')}). Fix: use ` +
                `one of those names, or add it to components.`,
            });
        });
      });
    }),
  {
    expected: 'status page settings (key: value lines)',
    write: 'settings indented under status_page',
    example: '{ title: Acme, target: ./public/status }',
  },
);

export type StatusPageConfig = z.output<typeof statusPageSchema>;
