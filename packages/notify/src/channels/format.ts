import type { Notification } from '../channel.js';
import type { Incident } from '../model.js';

/** `[drkit P1] Backups of "data" are 2 h old`: mail subjects and SMS. */
export function subjectLine(n: Notification): string {
  return `[drkit ${n.severity}] ${n.title}`;
}

/** An incident's facts: id, severity, status, components, who acknowledged it. */
export function incidentFacts(i: Incident): string {
  const parts = [i.id, i.severity, i.status];
  if (i.components.length) parts.push(i.components.join(', '));
  if (i.acknowledgedBy) parts.push(`acknowledged by ${i.acknowledgedBy}`);
  return parts.join(' · ');
}

/** One incident on one line: its facts, then its title. */
export function incidentLine(i: Incident): string {
  return `${incidentFacts(i)}: ${i.title}`;
}

/** The notification's text followed by one line per incident. */
export function plainText(n: Notification): string {
  return n.incidents.length ? `${n.text}\n\n${n.incidents.map(incidentLine).join('\n')}` : n.text;
}

/** Cuts a text to `max` characters, ending in … when cut. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
