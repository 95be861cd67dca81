import * as z from 'zod';
import { COMPONENT_STATES } from '../model.js';
import type { PageComponent, PageIncident, PageMaintenance, StatusPage } from './page.js';
import { slug } from './ids.js';

const time = z.iso.datetime({ offset: true });
const nullableTime = time.nullable();

const pageSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  url: z.string().nullable(),
  time_zone: z.literal('Etc/UTC'),
  updated_at: time,
});

const componentSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(COMPONENT_STATES),
  description: z.string().nullable(),
  position: z.int().min(1),
  /** When its current state began; null while operational. */
  updated_at: nullableTime,
  showcase: z.boolean(),
  group_id: z.null(),
  group: z.boolean(),
  only_show_if_degraded: z.boolean(),
  page_id: z.string(),
});

const affectedSchema = z.strictObject({
  code: z.string(),
  name: z.string(),
  old_status: z.enum(COMPONENT_STATES),
  new_status: z.enum(COMPONENT_STATES),
});

const updateSchema = z.strictObject({
  id: z.string(),
  status: z.enum([
    'investigating',
    'identified',
    'monitoring',
    'resolved',
    'scheduled',
    'in_progress',
    'verifying',
    'completed',
  ]),
  body: z.string(),
  incident_id: z.string(),
  created_at: time,
  updated_at: time,
  display_at: time,
  affected_components: z.array(affectedSchema).nullable(),
});

const incidentFields = {
  id: z.string(),
  name: z.string(),
  created_at: time,
  updated_at: time,
  started_at: time,
  monitoring_at: nullableTime,
  resolved_at: nullableTime,
  shortlink: z.string().nullable(),
  page_id: z.string(),
  incident_updates: z.array(updateSchema),
  components: z.array(componentSchema),
};

const incidentSchema = z.strictObject({
  ...incidentFields,
  status: z.enum(['investigating', 'identified', 'monitoring', 'resolved', 'postmortem']),
  impact: z.enum(['none', 'minor', 'major', 'critical']),
});

const maintenanceSchema = z.strictObject({
  ...incidentFields,
  status: z.enum(['scheduled', 'in_progress', 'verifying', 'completed']),
  impact: z.literal('maintenance'),
  scheduled_for: time,
  scheduled_until: time,
});

/** drkit's additions, in one object that Statuspage clients skip. */
const drkitSchema = z.strictObject({
  generated_at: time,
  stale_after_minutes: z.number().positive(),
  /** Open P1/P2 incidents past the promised update interval; empty when the page is current. */
  stale: z.array(
    z.strictObject({
      incident_id: z.string(),
      name: z.string(),
      severity: z.enum(['P1', 'P2', 'P3', 'P4']),
      last_public_update_at: time,
      minutes_since: z.int().min(0),
    }),
  ),
  uptime: z.array(
    z.strictObject({
      component_id: z.string(),
      days: z.int().min(1),
      percent: z.number().min(0).max(100),
      /** Only the days with an outage or degradation. */
      outage_days: z.array(
        z.strictObject({
          date: z.iso.date(),
          major_minutes: z.int().min(0),
          partial_minutes: z.int().min(0),
          degraded_minutes: z.int().min(0),
        }),
      ),
    }),
  ),
});

/**
 * summary.json: the shape of Atlassian Statuspage's `/api/v2/summary.json` (page, components,
 * unresolved incidents, upcoming and current maintenance, status indicator), plus `drkit`.
 */
export const summarySchema = z.strictObject({
  page: pageSchema,
  components: z.array(componentSchema),
  incidents: z.array(incidentSchema),
  scheduled_maintenances: z.array(maintenanceSchema),
  status: z.strictObject({
    indicator: z.enum(['none', 'minor', 'major', 'critical', 'maintenance']),
    description: z.string(),
  }),
  drkit: drkitSchema,
});
export type Summary = z.infer<typeof summarySchema>;
type SummaryComponent = z.infer<typeof componentSchema>;

/** The page's id in summary.json: its title as a slug. */
const pageId = (page: StatusPage) => slug(page.title) || 'status';

export function toSummary(page: StatusPage): Summary {
  const page_id = pageId(page);
  const components = page.components.map(
    (c: PageComponent, index): SummaryComponent => ({
      id: c.id,
      name: c.name,
      status: c.state,
      description: c.description ?? null,
      position: index + 1,
      updated_at: c.since ?? null,
      showcase: true,
      group_id: null,
      group: false,
      only_show_if_degraded: false,
      page_id,
    }),
  );
  const named = (names: readonly string[]) => components.filter((c) => names.includes(c.name));
  const link = (id: string) => (page.url ? `${page.url.replace(/#.*$/, '')}#incident-${id}` : null);
  const common = (i: PageIncident | PageMaintenance) => ({
    id: i.id,
    name: i.title,
    page_id,
    shortlink: link(i.id),
    components: named(i.components),
  });
  const incidents = page.incidents.map((i) => ({
    ...common(i),
    status: i.status,
    impact: i.impact,
    created_at: i.openedAt,
    updated_at: i.updatedAt,
    started_at: i.openedAt,
    monitoring_at: i.monitoringAt ?? null,
    resolved_at: i.resolvedAt ?? null,
    incident_updates: i.updates.map((u, index) => ({
      id: u.id,
      status: u.status,
      body: u.message,
      incident_id: i.id,
      created_at: u.at,
      updated_at: u.at,
      display_at: u.at,
      // The first update names the components and the state the incident put them in.
      affected_components:
        index === i.updates.length - 1
          ? named(i.components).map((c) => ({
              code: c.id,
              name: c.name,
              old_status: 'operational' as const,
              new_status: i.state,
            }))
          : null,
    })),
  }));
  const scheduled_maintenances = page.maintenance.map((m) => {
    // drkit keeps no edit history for maintenance: it last changed when it began, or (still ahead) as of this page.
    const changed = m.status === 'in_progress' ? m.startsAt : page.generatedAt;
    return {
      ...common(m),
      status: m.status,
      impact: 'maintenance' as const,
      created_at: changed,
      updated_at: changed,
      started_at: m.startsAt,
      monitoring_at: null,
      resolved_at: null,
      scheduled_for: m.startsAt,
      scheduled_until: m.endsAt,
      incident_updates: m.message
        ? [
            {
              id: `${m.id}-0`,
              status: m.status,
              body: m.message,
              incident_id: m.id,
              created_at: changed,
              updated_at: changed,
              display_at: changed,
              affected_components: null,
            },
          ]
        : [],
    };
  });
  return {
    page: { id: page_id, name: page.title, url: page.url ?? null, time_zone: 'Etc/UTC', updated_at: page.generatedAt },
    components,
    incidents,
    scheduled_maintenances,
    status: { indicator: page.indicator, description: page.description },
    drkit: {
      generated_at: page.generatedAt,
      stale_after_minutes: page.staleAfterMs / 60_000,
      stale: page.stale.map((s) => ({
        incident_id: s.incidentId,
        name: s.title,
        severity: s.severity,
        last_public_update_at: s.lastPublicUpdateAt,
        minutes_since: Math.floor(s.ageMs / 60_000),
      })),
      uptime: page.components.map((c) => ({
        component_id: c.id,
        days: page.uptimeDays,
        percent: c.uptime.percent,
        outage_days: c.uptime.days
          .filter((d) => d.majorMinutes + d.partialMinutes + d.degradedMinutes > 0)
          .map((d) => ({
            date: d.date,
            major_minutes: d.majorMinutes,
            partial_minutes: d.partialMinutes,
            degraded_minutes: d.degradedMinutes,
          })),
      })),
    },
  };
}
