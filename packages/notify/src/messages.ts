import type { Notification } from './channel.js';
import type { Incident, Severity, TimelineEntry } from './model.js';

/** Notifications carry their incidents with the last few timeline entries: enough to format, small to store. */
const TIMELINE_IN_MESSAGE = 5;

export function snapshot(incident: Incident): Incident {
  return incident.timeline.length <= TIMELINE_IN_MESSAGE
    ? incident
    : { ...incident, timeline: incident.timeline.slice(-TIMELINE_IN_MESSAGE) };
}

const components = (incident: Incident) => (incident.components.length ? ` [${incident.components.join(', ')}]` : '');

/** The message for one timeline entry of an incident. */
export function entryNotification(incident: Incident, entry: TimelineEntry, idempotencyKey: string): Notification {
  const head: Record<TimelineEntry['kind'], string> = {
    opened: 'opened',
    updated: entry.status ? `now ${entry.status}` : 'update',
    acknowledged: `acknowledged by ${entry.by}`,
    resolved: 'resolved',
  };
  return {
    idempotencyKey,
    kind: entry.kind,
    severity: incident.severity,
    title: `${incident.severity} ${head[entry.kind]}: ${incident.title}`,
    text: `${entry.message || incident.title}${components(incident)} (${incident.id}, ${entry.by}, ${entry.at})`,
    incidents: [snapshot(incident)],
  };
}

/** Repeat until acknowledged, escalation, or the status page's stale reminder. */
export function reminderNotification(
  incident: Incident,
  kind: 'reminder' | 'escalated',
  why: string,
  idempotencyKey: string,
): Notification {
  return {
    idempotencyKey,
    kind,
    severity: incident.severity,
    title: `${incident.severity} ${kind === 'escalated' ? 'escalated' : 'reminder'}: ${incident.title}`,
    text:
      `${why}${components(incident)} (${incident.id}, opened ${incident.openedAt}). Acknowledge: drkit ` +
      `incident ack ${incident.id}`,
    incidents: [snapshot(incident)],
  };
}

/** One message for a window's events: each incident once, with what happened to it in the window. */
export function digestNotification(
  severity: Severity,
  windowText: string,
  items: { incident: Incident; entries: TimelineEntry[] }[],
  idempotencyKey: string,
): Notification {
  const lines = items.map(({ incident, entries }) => {
    const what = entries
      .map((e) => (e.kind === 'updated' ? e.message : `${e.kind}${e.message ? `: ${e.message}` : ''}`))
      .join('; ');
    return `- ${incident.title}${components(incident)}: ${incident.status}${what ? ` (${what})` : ''} [${incident.id}]`;
  });
  return {
    idempotencyKey,
    kind: 'digest',
    severity,
    title: `${severity} digest: ${items.length} incident${items.length === 1 ? '' : 's'} ${windowText}`,
    text: lines.join('\n'),
    incidents: items.map(({ incident }) => snapshot(incident)),
  };
}
