import type { ChannelConfig, NotifyConfig, RouteConfig } from '@drkit/config';
import { parseDuration } from '@drkit/config/duration';
import type { Channel } from './channel.js';
import { type Incident, SEVERITIES, type Severity } from './model.js';

/** One route of the policy: who hears about an incident of its severity (and labels), and when. */
export interface Route {
  severity: Severity;
  /** Position among the severity's routes: names the route's digest. */
  index: number;
  /** Label → accepted values; `component` matches any of the incident's components. */
  match?: Record<string, string[]>;
  channels: string[];
  /** Each message is due this long after its event (a digest: at the end of its window). */
  withinMs: number;
  /** Batch the window's events into one message per channel. */
  digest: boolean;
  /** Remind every this long until acknowledged. */
  repeatEveryMs?: number;
  /** Unacknowledged this long after opening: also tell these channels. */
  escalate: { afterMs: number; channels: string[] }[];
  /** Give up on a message this long after its deadline. */
  expireAfterMs: number;
}

export interface Policy {
  routes: Record<Severity, Route[]>;
  /** An open P1 for a component mutes P3/P4 notifications about the same component. */
  inhibit: boolean;
}

type ChannelType = Channel['type'];

/**
 * The DR plan's communication plan, used for every severity the config gives no route: P1 phone + email + Slack at
 * once, repeated until acknowledged; P2 email + Slack ≤ 15 min; P3 Slack, hourly digest; P4 email, daily digest.
 * Webhooks and the console hear everything.
 */
export const PLAN: Record<
  Severity,
  { types: ChannelType[]; withinMs: number; digest: boolean; repeatEveryMs?: number }
> = {
  P1: {
    types: ['twilio', 'pagerduty', 'email', 'slack', 'webhook', 'console'],
    withinMs: 0,
    digest: false,
    repeatEveryMs: 15 * 60_000,
  },
  P2: { types: ['email', 'slack', 'webhook', 'console'], withinMs: 15 * 60_000, digest: false },
  P3: { types: ['slack', 'webhook', 'console'], withinMs: 60 * 60_000, digest: true },
  P4: { types: ['email', 'webhook', 'console'], withinMs: 24 * 60 * 60_000, digest: true },
};

const DEFAULT_EXPIRE_AFTER_MS = 24 * 60 * 60_000;

function route(severity: Severity, index: number, config: RouteConfig): Route {
  const plan = PLAN[severity];
  return {
    severity,
    index,
    ...(config.match
      ? {
          match: Object.fromEntries(
            Object.entries(config.match).map(([label, values]) => [
              label,
              typeof values === 'string' ? [values] : values,
            ]),
          ),
        }
      : {}),
    channels: config.channels,
    withinMs: config.within === undefined ? plan.withinMs : parseDuration(config.within),
    digest: config.digest ?? plan.digest,
    ...(config.repeat_every !== undefined ? { repeatEveryMs: parseDuration(config.repeat_every) } : {}),
    escalate: (config.escalate ?? [])
      .map((step) => ({ afterMs: parseDuration(step.after), channels: step.channels }))
      .sort((a, b) => a.afterMs - b.afterMs),
    expireAfterMs: config.expire_after === undefined ? DEFAULT_EXPIRE_AFTER_MS : parseDuration(config.expire_after),
  };
}

/**
 * The routing policy of a validated `notify:` section; severities it gives no route get the plan's, over the channels
 * of the plan's types.
 */
export function policyFromConfig(notify: NotifyConfig | undefined): Policy {
  const channels: Record<string, ChannelConfig> = notify?.channels ?? {};
  const routes = {} as Record<Severity, Route[]>;
  for (const severity of SEVERITIES) {
    const given = notify?.routes[severity];
    if (given !== undefined) {
      routes[severity] = (Array.isArray(given) ? given : [given]).map((r, i) => route(severity, i, r));
      continue;
    }
    const plan = PLAN[severity];
    const names = Object.entries(channels)
      .filter(([, c]) => plan.types.includes(c.type))
      .map(([name]) => name);
    routes[severity] = [
      {
        severity,
        index: 0,
        channels: names,
        withinMs: plan.withinMs,
        digest: plan.digest,
        ...(plan.repeatEveryMs ? { repeatEveryMs: plan.repeatEveryMs } : {}),
        escalate: [],
        expireAfterMs: DEFAULT_EXPIRE_AFTER_MS,
      },
    ];
  }
  return { routes, inhibit: notify?.inhibit ?? true };
}

function matches(
  match: Record<string, string[]> | undefined,
  incident: Pick<Incident, 'components' | 'labels'>,
): boolean {
  if (!match) return true;
  return Object.entries(match).every(([label, values]) =>
    label === 'component'
      ? incident.components.some((c) => values.includes(c))
      : incident.labels[label] !== undefined && values.includes(incident.labels[label]!),
  );
}

/** The first route of the incident's severity whose labels match; undefined when none does (nobody is told). */
export function routeFor(
  policy: Policy,
  incident: Pick<Incident, 'severity' | 'components' | 'labels'>,
): Route | undefined {
  return policy.routes[incident.severity].find((r) => matches(r.match, incident));
}
