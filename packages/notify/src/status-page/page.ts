import type { ComponentState, Incident, IncidentStatus, Severity } from '../model.js';
import { DEFAULT_STALE_AFTER_MS, lastPublicUpdateAt, staleIncidents } from './stale.js';
import { slug } from './ids.js';
import { SEVERITY_STATE, STATE_RANK } from './states.js';
import { severitySpans, type StateSpan, type Uptime, uptime } from './uptime.js';

export interface StatusPageComponent {
  name: string;
  description?: string;
}

/** Planned work: its components are under maintenance from `startsAt` to `endsAt`. */
export interface Maintenance {
  id: string;
  title: string;
  components: string[];
  startsAt: string;
  endsAt: string;
  message?: string;
}

export interface StatusPageInput {
  title: string;
  /** Where the page is served; summary.json links incidents to it. */
  url?: string;
  /** In the order shown; components named only by incidents or maintenance follow. */
  components: readonly StatusPageComponent[];
  /** Open and resolved incidents: the open ones set the states, all of them the history. */
  incidents: readonly Incident[];
  maintenance?: readonly Maintenance[];
  now: number;
  staleAfterMs?: number;
  /** How far back resolved incidents are listed (default 14 days). */
  historyDays?: number;
}

/** Statuspage's overall indicator and incident impact. */
export type Indicator = 'none' | 'minor' | 'major' | 'critical' | 'maintenance';
export type Impact = Exclude<Indicator, 'maintenance'>;

export const SEVERITY_IMPACT: Record<Severity, Impact> = { P1: 'critical', P2: 'major', P3: 'minor', P4: 'minor' };

/** Statuspage's words for each indicator. */
export const INDICATOR_DESCRIPTION: Record<Indicator, string> = {
  none: 'All Systems Operational',
  minor: 'Minor Service Outage',
  major: 'Partial System Outage',
  critical: 'Major Service Outage',
  maintenance: 'Service Under Maintenance',
};

/** A public timeline entry, with the incident's status at that time. */
export interface PublicUpdate {
  id: string;
  at: string;
  status: IncidentStatus;
  message: string;
}

export interface PageIncident {
  id: string;
  title: string;
  severity: Severity;
  impact: Impact;
  status: IncidentStatus;
  /** The state it holds its components in while open, and since when (its severity may have changed). */
  state: ComponentState;
  stateSince: string;
  components: string[];
  openedAt: string;
  /** Its last public update. */
  updatedAt: string;
  monitoringAt?: string;
  resolvedAt?: string;
  /** Newest first; internal entries never. */
  updates: PublicUpdate[];
}

export type MaintenanceStatus = 'scheduled' | 'in_progress' | 'completed';

export interface PageMaintenance extends Maintenance {
  status: MaintenanceStatus;
}

export interface PageComponent {
  /** Stable, from the name. */
  id: string;
  name: string;
  description?: string;
  state: ComponentState;
  /** When its current state began (unset while operational). */
  since?: string;
  uptime: Uptime;
}

export interface PageStaleness {
  incidentId: string;
  title: string;
  severity: Severity;
  lastPublicUpdateAt: string;
  /** Time since that update, ms. */
  ageMs: number;
}

/** Everything the page shows, computed once: the HTML and summary.json are two views of it. */
export interface StatusPage {
  title: string;
  url?: string;
  generatedAt: string;
  indicator: Indicator;
  description: string;
  components: PageComponent[];
  /** Open incidents, worst first, then newest first. */
  incidents: PageIncident[];
  /** Resolved within the history window, newest first. */
  history: PageIncident[];
  /** Scheduled or in progress, soonest first. */
  maintenance: PageMaintenance[];
  /** Open P1/P2 incidents without a public update for longer than `staleAfterMs`: the page says it is out of date. */
  stale: PageStaleness[];
  staleAfterMs: number;
  historyDays: number;
  uptimeDays: number;
}

const UPTIME_DAYS = 90;
const DAY_MS = 86_400_000;

/** Component ids from names, unique within the page. */
function componentIds(names: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    const base = slug(name) || 'component';
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    taken.add(id);
    ids.set(name, id);
  }
  return ids;
}

function pageIncident(incident: Incident, now: number): PageIncident {
  let status: IncidentStatus = 'investigating';
  const updates: PublicUpdate[] = [];
  incident.timeline.forEach((entry, index) => {
    status = entry.status ?? status;
    if (entry.visibility === 'public')
      updates.push({ id: `${incident.id}-${index}`, at: entry.at, status, message: entry.message });
  });
  const spans = severitySpans(incident, now);
  const monitoring = updates.find((u) => u.status === 'monitoring');
  return {
    id: incident.id,
    title: incident.title,
    severity: incident.severity,
    impact: SEVERITY_IMPACT[incident.severity],
    status: incident.status,
    state: spans.at(-1)?.state ?? SEVERITY_STATE[incident.severity],
    stateSince: new Date(spans.at(-1)?.from ?? Date.parse(incident.openedAt)).toISOString(),
    components: incident.components,
    openedAt: incident.openedAt,
    updatedAt: lastPublicUpdateAt(incident),
    ...(monitoring ? { monitoringAt: monitoring.at } : {}),
    ...(incident.resolvedAt ? { resolvedAt: incident.resolvedAt } : {}),
    updates: updates.reverse(),
  };
}

function maintenanceStatus(m: Maintenance, now: number): MaintenanceStatus {
  if (now < Date.parse(m.startsAt)) return 'scheduled';
  return now < Date.parse(m.endsAt) ? 'in_progress' : 'completed';
}

/** Times as `…Z`, whatever offset they were given with: the page shows UTC. */
const utc = (isoTime: string) => new Date(Date.parse(isoTime)).toISOString();

const byNewest = (a: { openedAt: string }, b: { openedAt: string }) => Date.parse(b.openedAt) - Date.parse(a.openedAt);

/** The page as data (pure: the same input gives the same page). */
export function statusPage(input: StatusPageInput): StatusPage {
  const { now } = input;
  const staleAfterMs = input.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const historyDays = input.historyDays ?? 14;
  const windowStart = Math.floor(now / DAY_MS) * DAY_MS - (UPTIME_DAYS - 1) * DAY_MS;
  const inWindow = input.incidents.filter(
    (i) => Date.parse(i.openedAt) <= now && (!i.resolvedAt || Date.parse(i.resolvedAt) >= windowStart),
  );
  const open = inWindow.filter((i) => i.status !== 'resolved');
  const maintenance = (input.maintenance ?? [])
    .map((m) => ({ ...m, startsAt: utc(m.startsAt), endsAt: utc(m.endsAt), status: maintenanceStatus(m, now) }))
    .filter((m) => m.status !== 'completed')
    .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));

  const names = [
    ...new Set([
      ...input.components.map((c) => c.name),
      ...inWindow.flatMap((i) => i.components),
      ...maintenance.flatMap((m) => m.components),
    ]),
  ];
  const ids = componentIds(names);
  const spansOf = new Map<string, StateSpan[]>(names.map((n) => [n, []]));
  for (const incident of inWindow) {
    const spans = severitySpans(incident, now);
    for (const name of incident.components) spansOf.get(name)!.push(...spans);
  }
  const incidents = open
    .map((i) => pageIncident(i, now))
    .sort((a, b) => STATE_RANK[b.state] - STATE_RANK[a.state] || byNewest(a, b));

  const components = names.map((name): PageComponent => {
    let state: ComponentState = 'operational';
    let since: string | undefined;
    const consider = (s: ComponentState, from: string) => {
      if (STATE_RANK[s] > STATE_RANK[state]) [state, since] = [s, from];
      else if (s === state && since !== undefined && Date.parse(from) < Date.parse(since)) since = from;
    };
    for (const i of incidents) if (i.components.includes(name)) consider(i.state, i.stateSince);
    for (const m of maintenance)
      if (m.status === 'in_progress' && m.components.includes(name)) consider('under_maintenance', m.startsAt);
    const description = input.components.find((c) => c.name === name)?.description;
    return {
      id: ids.get(name)!,
      name,
      ...(description ? { description } : {}),
      state,
      ...(since ? { since } : {}),
      uptime: uptime(spansOf.get(name)!, now, UPTIME_DAYS),
    };
  });

  const worstImpact = incidents.reduce<Impact>(
    (w, i) => (IMPACT_RANK[i.impact] > IMPACT_RANK[w] ? i.impact : w),
    'none',
  );
  const indicator: Indicator =
    worstImpact === 'none' && maintenance.some((m) => m.status === 'in_progress') ? 'maintenance' : worstImpact;

  return {
    title: input.title,
    ...(input.url ? { url: input.url } : {}),
    generatedAt: new Date(now).toISOString(),
    indicator,
    description: INDICATOR_DESCRIPTION[indicator],
    components,
    incidents,
    history: input.incidents
      .filter((i) => i.status === 'resolved' && i.resolvedAt && now - Date.parse(i.resolvedAt) <= historyDays * DAY_MS)
      .map((i) => pageIncident(i, now))
      .sort(byNewest),
    maintenance,
    stale: staleIncidents(open, now, staleAfterMs).map((s) => ({
      incidentId: s.incident.id,
      title: s.incident.title,
      severity: s.incident.severity,
      lastPublicUpdateAt: s.lastPublicUpdateAt,
      ageMs: s.ageMs,
    })),
    staleAfterMs,
    historyDays,
    uptimeDays: UPTIME_DAYS,
  };
}

const IMPACT_RANK: Record<Impact, number> = { none: 0, minor: 1, major: 2, critical: 3 };
