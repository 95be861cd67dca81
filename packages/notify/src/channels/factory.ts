import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ChannelConfig, parseDuration } from '@drkit/config';
import { errnoCode } from '@drkit/errors';
import type { Channel } from '../channel.js';
import { consoleChannel } from './console.js';
import { emailChannel } from './email.js';
import { ChannelError, ChannelErrorCode } from './errors.js';
import { pagerDutyChannel } from './pagerduty.js';
import type { ContactLookup } from './recipients.js';
import { slackChannel } from './slack.js';
import { twilioChannel } from './twilio.js';
import { webhookChannel } from './webhook.js';

export interface ChannelDependencies {
  /** Resolves `role:NAME` in a channel's `to:` from `contacts:`; asked at every send. */
  contact?: ContactLookup;
  /** Where the console channel writes (default standard error). */
  console?: NodeJS.WritableStream;
  /** The clock for Retry-After dates. */
  now?: () => number;
}

function readCa(name: string, file: string): Buffer {
  // The config loader made it absolute (relative to the config file).
  const path = resolve(file);
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new ChannelError(
      ChannelErrorCode.CA_FILE,
      `notify.channels.${name}.ca_file: cannot read ${path} (${errnoCode(cause) ?? String(cause)})`,
      {
        cause,
        hint:
          'Point ca_file at the PEM file of the CA that signed the SMTP server certificate, or remove it to ' +
          'trust the public CAs only.',
        details: { channel: name, file: path },
      },
    );
  }
}

/** Builds the adapter a `notify.channels` entry describes; errors name the entry. */
export function createChannel(name: string, config: ChannelConfig, deps: ChannelDependencies = {}): Channel {
  const common = {
    name,
    ...(deps.now ? { now: deps.now } : {}),
    ...('timeout' in config && config.timeout ? { timeoutMs: parseDuration(config.timeout) } : {}),
  };
  try {
    switch (config.type) {
      case 'slack':
        return slackChannel({ ...common, webhookUrl: config.webhook_url });
      case 'email':
        return emailChannel({
          ...common,
          smtpUrl: config.smtp_url,
          from: config.from,
          to: config.to,
          ...(deps.contact ? { contact: deps.contact } : {}),
          ...(config.ca_file ? { ca: readCa(name, config.ca_file) } : {}),
        });
      case 'pagerduty':
        return pagerDutyChannel({
          ...common,
          routingKey: config.routing_key,
          ...(config.events_url ? { eventsUrl: config.events_url } : {}),
        });
      case 'twilio':
        return twilioChannel({
          ...common,
          accountSid: config.account_sid,
          authToken: config.auth_token,
          from: config.from,
          to: config.to,
          ...(deps.contact ? { contact: deps.contact } : {}),
          ...(config.call !== undefined ? { call: config.call } : {}),
          ...(config.sms !== undefined ? { sms: config.sms } : {}),
          ...(config.base_url ? { baseUrl: config.base_url } : {}),
        });
      case 'webhook':
        return webhookChannel({ ...common, url: config.url, ...(config.headers ? { headers: config.headers } : {}) });
      case 'console':
        return consoleChannel({ name, ...(deps.console ? { stream: deps.console } : {}) });
    }
  } catch (error) {
    if (error instanceof ChannelError && error.code !== ChannelErrorCode.CA_FILE)
      throw new ChannelError(error.code, `notify.channels.${name}: ${error.message}`, {
        cause: error,
        ...(error.hint ? { hint: error.hint } : {}),
        details: { channel: name },
      });
    throw error;
  }
}

/** Every configured channel by name, built before anything is sent so a bad entry fails first. */
export function createChannels(
  channels: Readonly<Record<string, ChannelConfig>>,
  deps: ChannelDependencies = {},
): Map<string, Channel> {
  return new Map(Object.entries(channels).map(([name, config]) => [name, createChannel(name, config, deps)]));
}
