import * as z from 'zod';

/** The DR plan's communication plan: P1 critical … P4 low. */
export const SEVERITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Statuspage's incident statuses, in order; `resolved` closes an incident. */
export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Statuspage's component states. */
export const COMPONENT_STATES = [
  'operational',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'under_maintenance',
] as const;
export type ComponentState = (typeof COMPONENT_STATES)[number];

const isoTime = z.iso.datetime({ offset: true });

/** What a timeline entry records; notifications are named after it. */
export const TIMELINE_KINDS = ['opened', 'updated', 'acknowledged', 'resolved'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export const timelineEntrySchema = z.object({
  at: isoTime,
  kind: z.enum(TIMELINE_KINDS).default('updated'),
  /** Who or what wrote it: a person (`--by`), or a drkit part (`scheduler`, `failover`, `drill`). */
  by: z.string().min(1),
  message: z.string(),
  /** Public entries go to the status page; internal ones stay in drkit and the post-incident review. */
  visibility: z.enum(['public', 'internal']),
  /** Set when this update changed the status or the severity. */
  status: z.enum(INCIDENT_STATUSES).optional(),
  severity: z.enum(SEVERITIES).optional(),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const incidentSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  title: z.string().min(1),
  severity: z.enum(SEVERITIES),
  components: z.array(z.string()),
  /** Route matchers see these (e.g. `source`, `job`, `component`). */
  labels: z.record(z.string(), z.string()).default({}),
  status: z.enum(INCIDENT_STATUSES),
  /** An open incident with the same key is updated instead of a new one being opened. */
  dedupKey: z.string().optional(),
  openedAt: isoTime,
  acknowledgedBy: z.string().optional(),
  acknowledgedAt: isoTime.optional(),
  resolvedAt: isoTime.optional(),
  timeline: z.array(timelineEntrySchema),
});
export type Incident = z.infer<typeof incidentSchema>;

/**
 * What other drkit parts (backup, scheduler, failover, drills) and other services report: the
 * notify package turns it into a new or updated incident and routes it. `resolve: true` closes
 * the open incident with the same dedup key.
 */
export interface DrkitEvent {
  /** The reporting part, e.g. `scheduler`, `failover`, `backup`. */
  by: string;
  severity: Severity;
  title: string;
  message: string;
  components?: string[];
  labels?: Record<string, string>;
  /** e.g. `rpo:data`, `job-failed:hourly`, `failover:app`. */
  dedupKey?: string;
  resolve?: boolean;
  /** Internal detail (error codes, hints) kept on the timeline, not shown on the status page. */
  internal?: boolean;
}
