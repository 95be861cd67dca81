import { hostname } from 'node:os';
import type { Channel, Delivery, Notification } from '../channel.js';
import type { Incident, Severity } from '../model.js';
import { truncate } from './format.js';
import { classifyAnswer, DEFAULT_TIMEOUT_MS, type HttpTarget, httpUrl, isAnswer, post } from './http.js';
import { CANCELLED, combineLegs, DeliveredLegs } from './recipients.js';
import { redactor } from './secrets.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface PagerDutyChannelOptions {
  name: string;
  /** The Events API v2 integration key: a secret. */
  routingKey: string;
  /** Default: PagerDuty's /v2/enqueue. */
  eventsUrl?: string;
  /** `payload.source`: the affected system; default this host's name. */
  source?: string;
  timeoutMs?: number;
  now?: () => number;
}

/** The plan's severities in PagerDuty's words. */
export const PAGERDUTY_SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  P1: 'critical',
  P2: 'error',
  P3: 'warning',
  P4: 'info',
};

// PagerDuty's limits: summary 1,024 characters, dedup_key 255.
const SUMMARY_MAX = 1024;

type Action = 'trigger' | 'acknowledge' | 'resolve';

function action(n: Notification, incident: Incident | undefined): Action {
  if (n.kind === 'resolved' || incident?.status === 'resolved') return 'resolve';
  return n.kind === 'acknowledged' ? 'acknowledge' : 'trigger';
}

/**
 * Events API v2 events for a notification: one per incident, `dedup_key` = the incident id,
 * so PagerDuty's alert follows the incident through acknowledge and resolve (a test
 * notification has no incident: its key is its own). Only triggers carry a payload.
 */
export function pagerDutyEvents(n: Notification, routingKey: string, source: string, now: () => number = Date.now) {
  const subjects: Array<Incident | undefined> = n.incidents.length ? n.incidents : [undefined];
  return subjects.map((incident) => {
    const event_action = action(n, incident);
    const head = { routing_key: routingKey, event_action, dedup_key: incident?.id ?? n.idempotencyKey };
    if (event_action !== 'trigger') return head;
    const severity = incident?.severity ?? n.severity;
    return {
      ...head,
      client: 'drkit',
      payload: {
        summary: truncate(`${severity} ${incident?.title ?? n.title}`, SUMMARY_MAX),
        source,
        severity: PAGERDUTY_SEVERITY[severity],
        timestamp: incident?.openedAt ?? new Date(now()).toISOString(),
        ...(incident?.components.length ? { component: incident.components.join(', ') } : {}),
        class: n.kind,
        custom_details: {
          text: n.text,
          idempotency_key: n.idempotencyKey,
          ...(incident ? { incident_id: incident.id, status: incident.status, labels: incident.labels } : {}),
        },
      },
    };
  });
}

/**
 * PagerDuty Events API v2: trigger / acknowledge / resolve. 400 is permanent (an invalid
 * event), 429 and 5xx retry. A retry by this process sends only the events not yet accepted.
 */
export function pagerDutyChannel(options: PagerDutyChannelOptions): Channel {
  const url = httpUrl(options.eventsUrl ?? PAGERDUTY_EVENTS_URL, 'events_url');
  const target: HttpTarget = {
    url,
    label: url.href,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    redact: redactor([options.routingKey]),
    now: options.now ?? Date.now,
  };
  const source = options.source ?? hostname();
  const delivered = new DeliveredLegs();
  return {
    name: options.name,
    type: 'pagerduty',
    describe: () => `pagerduty ${url.href} (routing key ***)`,
    async send(n, { signal }): Promise<Delivery> {
      const results: Array<{ leg: string; delivery: Delivery }> = [];
      for (const event of pagerDutyEvents(n, options.routingKey, source, target.now)) {
        const leg = `${event.event_action} ${event.dedup_key}`;
        if (delivered.has(n.idempotencyKey, leg)) continue;
        const answer = signal?.aborted
          ? CANCELLED
          : await post(
              target,
              { headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) },
              signal,
            );
        let delivery = isAnswer(answer) ? classifyAnswer(target, answer) : answer;
        if (delivery.ok) {
          delivered.add(n.idempotencyKey, leg);
          delivery = { ok: true, receipt: `dedup_key ${event.dedup_key}` };
        }
        results.push({ leg, delivery });
      }
      return results.length === 1 ? results[0]!.delivery : combineLegs(results);
    },
  };
}
