import type { ChannelConfig } from '@drkit/config';
import { PAGERDUTY_EVENTS_URL } from './pagerduty.js';
import { TWILIO_BASE_URL } from './twilio.js';

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'smtp:': 587, 'smtps:': 465 };

/** The host and port a channel sends to (none for the console), to check it can be reached without sending anything. */
export function channelEndpoint(config: ChannelConfig): { host: string; port: number } | undefined {
  const url =
    config.type === 'slack'
      ? config.webhook_url
      : config.type === 'email'
        ? config.smtp_url
        : config.type === 'pagerduty'
          ? (config.events_url ?? PAGERDUTY_EVENTS_URL)
          : config.type === 'twilio'
            ? (config.base_url ?? TWILIO_BASE_URL)
            : config.type === 'webhook'
              ? config.url
              : undefined;
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: Number(parsed.port) || DEFAULT_PORTS[parsed.protocol] || 443,
  };
}
