import type { ComponentState, Incident, Severity } from '../model.js';
import { SEVERITY_STATE, STATE_RANK } from './states.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** A stretch of time in which an incident held its components in one state. */
export interface StateSpan {
  from: number;
  to: number;
  state: ComponentState;
}

/**
 * One UTC day of a component's history: minutes in each state worse
 * than operational (a minute counts once, in its worst state).
 */
export interface UptimeDay {
  /** YYYY-MM-DD (UTC). */
  date: string;
  majorMinutes: number;
  partialMinutes: number;
  degradedMinutes: number;
}

export interface Uptime {
  days: UptimeDay[];
  /**
   * 100 × (1 − minutes of partial or major outage / minutes in the window), rounded down to two
   * decimals so that any outage shows below 100. Degraded performance is not downtime.
   */
  percent: number;
}

/**
 * The incident's life, cut where its severity changed: from its opening (at the severity of its
 * first entry that names one) to its resolution, or `now` while it is open.
 */
export function severitySpans(incident: Incident, now: number): StateSpan[] {
  const end = Math.min(incident.resolvedAt ? Date.parse(incident.resolvedAt) : now, now);
  const opened = Date.parse(incident.openedAt);
  let severity: Severity = incident.timeline.find((e) => e.severity)?.severity ?? incident.severity;
  let from = opened;
  const spans: StateSpan[] = [];
  for (const entry of incident.timeline) {
    if (!entry.severity || entry.severity === severity) continue;
    const at = Math.min(Math.max(Date.parse(entry.at), opened), end);
    spans.push({ from, to: at, state: SEVERITY_STATE[severity] });
    [from, severity] = [at, entry.severity];
  }
  spans.push({ from, to: end, state: SEVERITY_STATE[severity] });
  return spans.filter((s) => s.to > s.from);
}

/**
 * `days` UTC days of history ending today (today up to `now`),
 * from the spans of the incidents that named the component.
 */
export function uptime(spans: readonly StateSpan[], now: number, days = 90): Uptime {
  const start = Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
  const out: UptimeDay[] = [];
  let downMs = 0;
  for (let day = start; day < now; day += DAY_MS) {
    const dayEnd = Math.min(day + DAY_MS, now);
    const inDay = spans.filter((s) => s.to > day && s.from < dayEnd);
    // Cut the day where any span starts or ends; each piece is in the worst state covering it.
    const cuts = [
      ...new Set([day, dayEnd, ...inDay.flatMap((s) => [s.from, s.to]).filter((t) => t > day && t < dayEnd)]),
    ].sort((a, b) => a - b);
    const ms: Record<ComponentState, number> = {
      operational: 0,
      under_maintenance: 0,
      degraded_performance: 0,
      partial_outage: 0,
      major_outage: 0,
    };
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [a, b] = [cuts[i]!, cuts[i + 1]!];
      const covering = inDay.filter((s) => s.from <= a && s.to >= b);
      if (covering.length === 0) continue;
      const state = covering.reduce<ComponentState>(
        (w, s) => (STATE_RANK[s.state] > STATE_RANK[w] ? s.state : w),
        'operational',
      );
      ms[state] += b - a;
    }
    downMs += ms.major_outage + ms.partial_outage;
    out.push({
      date: new Date(day).toISOString().slice(0, 10),
      // Up, so that a 20-second outage still shows as a minute.
      majorMinutes: Math.ceil(ms.major_outage / MINUTE_MS),
      partialMinutes: Math.ceil(ms.partial_outage / MINUTE_MS),
      degradedMinutes: Math.ceil(ms.degraded_performance / MINUTE_MS),
    });
  }
  const windowMs = now - start;
  return { days: out, percent: Math.floor(10_000 * (1 - downMs / windowMs)) / 100 };
}
