import * as z from 'zod';

// PagerDuty Events API v2, "Send an alert event" (POST /v2/enqueue), written from PagerDuty's
// published reference (developer.pagerduty.com, and the OpenAPI document in PagerDuty's
// api-schema repository: reference/events-v2/openapiv3.json). Strict objects: a misspelt field
// would be dropped by PagerDuty without a word, so the test refuses it.

const payload = z.strictObject({
  /** Used for the alert's title; at most 1,024 characters. */
  summary: z.string().min(1).max(1024),
  /** The affected system, preferably a hostname or FQDN. */
  source: z.string().min(1),
  severity: z.enum(['critical', 'error', 'warning', 'info']),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  component: z.string().optional(),
  group: z.string().optional(),
  class: z.string().optional(),
  custom_details: z.record(z.string(), z.unknown()).optional(),
});

const base = {
  /** The integration key: 32 characters. */
  routing_key: z.string().length(32),
  /** At most 255 characters; required unless the action is trigger. */
  dedup_key: z.string().min(1).max(255),
  client: z.string().optional(),
  client_url: z.url().optional(),
  links: z.array(z.strictObject({ href: z.url(), text: z.string().optional() })).optional(),
  images: z.array(z.strictObject({ src: z.url(), href: z.url().optional(), alt: z.string().optional() })).optional(),
};

export const pagerDutyEventSchema = z.discriminatedUnion('event_action', [
  z.strictObject({ ...base, event_action: z.literal('trigger'), dedup_key: base.dedup_key.optional(), payload }),
  z.strictObject({ ...base, event_action: z.literal('acknowledge') }),
  z.strictObject({ ...base, event_action: z.literal('resolve') }),
]);
