import type { Incident, Severity } from '../model.js';
import { compactTime } from './ids.js';

/** The DR plan: during a P1/P2 the status page is updated at least every 30 minutes. */
export const DEFAULT_STALE_AFTER_MS = 30 * 60_000;

/** An open P1/P2 whose last public update is older than the promise. */
export interface StaleIncident {
  incident: Incident;
  lastPublicUpdateAt: string;
  /** Time since that update, ms. */
  ageMs: number;
}

/** When the public last heard about the incident: its newest public timeline entry, else its opening. */
export function lastPublicUpdateAt(incident: Incident): string {
  return incident.timeline.findLast((e) => e.visibility === 'public')?.at ?? incident.openedAt;
}

/** The open P1/P2 incidents that owe the public an update, oldest update first. */
export function staleIncidents(
  incidents: readonly Incident[],
  now: number,
  staleAfterMs = DEFAULT_STALE_AFTER_MS,
): StaleIncident[] {
  return incidents
    .filter((i) => i.status !== 'resolved' && (i.severity === 'P1' || i.severity === 'P2'))
    .map((incident) => {
      const at = lastPublicUpdateAt(incident);
      return { incident, lastPublicUpdateAt: at, ageMs: now - Date.parse(at) };
    })
    .filter((s) => s.ageMs > staleAfterMs)
    .sort((a, b) => b.ageMs - a.ageMs);
}

const minutes = (ms: number) => Math.floor(ms / 60_000);

/**
 * The reminder a stale incident's channels get. Its key names the last public update and how
 * many periods have gone by since, so each period reminds once however often this runs, and a
 * new public update starts afresh.
 */
export function staleReminder(
  stale: { incidentId: string; severity: Severity; lastPublicUpdateAt: string; ageMs: number },
  staleAfterMs = DEFAULT_STALE_AFTER_MS,
): { key: string; text: string } {
  const periods = Math.floor(stale.ageMs / staleAfterMs);
  return {
    key: `stale-${compactTime(stale.lastPublicUpdateAt)}-${periods}`,
    text:
      `The status page has had no public update on this ${stale.severity} for ${minutes(stale.ageMs)} min ` +
      `(last at ${stale.lastPublicUpdateAt}); ` +
      `it promises one every ${minutes(staleAfterMs)} min and now shows itself as stale. Post one: drkit ` +
      `incident update ${stale.incidentId} --message "…"`,
  };
}
