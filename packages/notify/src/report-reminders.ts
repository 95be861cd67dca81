import type { Notifier } from './notifier.js';

/** Reports written, by incident: `{path, written_at}`; a resolved P1/P2 without one gets a reminder after 48 h. */
export const REPORT_PREFIX = 'incident-reports/';
export const REPORT_DUE_MS = 48 * 3_600_000;

/**
 * Resolved P1/P2 incidents older than 48 h without a report get a reminder (a P3 incident per
 * report due, resolved when the report is written). `drkit notify flush` and the scheduler
 * daemon's housekeeping both call it; the time is the notifier's clock unless `now` says.
 */
export async function remindDueReports(
  notifier: Notifier,
  now: () => number = () => notifier.clock.now(),
): Promise<string[]> {
  const due: string[] = [];
  for (const incident of await notifier.list({ all: true })) {
    if (incident.status !== 'resolved' || !['P1', 'P2'].includes(incident.severity) || !incident.resolvedAt) continue;
    if (now() - Date.parse(incident.resolvedAt) < REPORT_DUE_MS) continue;
    if (await notifier.store.get(`${REPORT_PREFIX}${incident.id}`)) continue;
    due.push(incident.id);
    await notifier.report({
      by: 'incident-report',
      severity: 'P3',
      title: `Incident report due: ${incident.title}`,
      message:
        `${incident.severity} incident ${incident.id} was resolved ${incident.resolvedAt}; the plan asks for ` +
        `its review within 48 h. Write it: drkit incident report ${incident.id}`,
      dedupKey: `report-due:${incident.id}`,
    });
  }
  return due;
}
