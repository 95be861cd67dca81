import type { Notification } from '../channel.js';

/**
 * `[drkit] P1 opened: Backups of "data" are 2 h old`: mail
 * subjects, SMS, the console. The title already says the severity.
 */
export function subjectLine(n: Notification): string {
  return `[drkit] ${n.title}`;
}

/** Where a message came from, for a reader who wants to find it: its kind and idempotency key. */
export function footer(n: Notification): string {
  return `drkit · ${n.kind} · ${n.idempotencyKey}`;
}

/** Cuts a text to `max` characters, ending in … when cut. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
