import type { Incident, Severity } from './model.js';

/**
 * What a notification is about: an incident's timeline entry (opened … resolved), a reminder
 * (repeat until acknowledged, or the status page's stale reminder), an escalation, a digest of a
 * window's incidents, a message that could not be delivered elsewhere, or a test.
 */
export const NOTIFICATION_KINDS = [
  'opened',
  'updated',
  'acknowledged',
  'resolved',
  'reminder',
  'escalated',
  'digest',
  'undeliverable',
  'test',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** What a channel is asked to deliver: one incident event, a digest of several, a reminder or a test. */
export interface Notification {
  /**
   * Stable across retries and restarts (the outbox record's message id): a webhook's idempotency
   * key, so a receiver can drop the one duplicate a crash can cause. PagerDuty's dedup_key is the
   * incident id (`incidents[0].id`) instead, so trigger, acknowledge and resolve meet.
   */
  idempotencyKey: string;
  kind: NotificationKind;
  severity: Severity;
  /** One line, for SMS, voice and subjects. */
  title: string;
  /** Plain text; channels that format (Slack blocks, HTML mail) build on the incidents. */
  text: string;
  /** The incidents this is about (several for a digest). */
  incidents: Incident[];
}

/**
 * Whether a send reached the receiver. A failure is classified by the receiver's own rules:
 * retryable (429, 5xx, timeouts, resets; `retryAfterMs` when the receiver said how long to wait)
 * or permanent (a 400 from PagerDuty, a rejected recipient, bad credentials).
 */
export type Delivery =
  | { ok: true; receipt?: string }
  | { ok: false; retryable: boolean; retryAfterMs?: number; error: string };

/** One configured way to reach people. Adapters never throw for a failed delivery: they return it. */
export interface Channel {
  readonly name: string;
  readonly type: 'slack' | 'email' | 'pagerduty' | 'twilio' | 'webhook' | 'console';
  send(notification: Notification, options: { signal?: AbortSignal }): Promise<Delivery>;
  /** Where it sends, secrets masked (for `notify status` and errors). */
  describe(): string;
}
