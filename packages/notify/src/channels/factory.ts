import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from '@drkit/config';
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

/** A `notify.channels` entry as the config gives it: `${ENV}` expanded, durations as text (`10s`). */
export type ChannelConfig =
  | { type: 'slack'; webhook_url: string; timeout?: string }
  | { type: 'email'; smtp_url: string; from: string; to: string[]; ca_file?: string; timeout?: string }
  | { type: 'pagerduty'; routing_key: string; events_url?: string; timeout?: string }
  | { type: 'twilio'; account_sid: string; auth_token: string; from: string; to: string[]; call?: boolean; sms?: boolean; base_url?: string; timeout?: string }
  | { type: 'webhook'; url: string; headers?: Record<string, string>; timeout?: string }
  | { type: 'console' };

export interface ChannelDependencies {
  /** Resolves `role:NAME` in a channel's `to:` from `contacts:`; asked at every send. */
  contact?: ContactLookup;
  /** Where the console channel writes (default standard error). */
  console?: NodeJS.WritableStream;
  /** The clock for Retry-After dates. */
  now?: () => number;
  /** Folder a relative `ca_file` is read from (default the working folder). */
  baseDir?: string;
}

function readCa(name: string, file: string, baseDir: string | undefined): Buffer {
  const path = resolve(baseDir ?? process.cwd(), file);
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new ChannelError(ChannelErrorCode.CA_FILE, `notify.channels.${name}.ca_file: cannot read ${path} (${errnoCode(cause) ?? String(cause)})`, {
      cause,
      hint: 'Point ca_file at the PEM file of the CA that signed the SMTP server certificate, or remove it to trust the public CAs only.',
      details: { channel: name, file: path },
    });
  }
}

/** Builds the adapter a `notify.channels` entry describes; errors name the entry. */
export function createChannel(name: string, config: ChannelConfig, deps: ChannelDependencies = {}): Channel {
  const common = { name, ...(deps.now ? { now: deps.now } : {}), ...('timeout' in config && config.timeout ? { timeoutMs: parseDuration(config.timeout) } : {}) };
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
          ...(config.ca_file ? { ca: readCa(name, config.ca_file, deps.baseDir) } : {}),
        });
      case 'pagerduty':
        return pagerDutyChannel({ ...common, routingKey: config.routing_key, ...(config.events_url ? { eventsUrl: config.events_url } : {}) });
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
      throw new ChannelError(error.code, `notify.channels.${name}: ${error.message}`, { cause: error, ...(error.hint ? { hint: error.hint } : {}), details: { channel: name } });
    throw error;
  }
}

/** Every configured channel by name, built before anything is sent so a bad entry fails first. */
export function createChannels(channels: Readonly<Record<string, ChannelConfig>>, deps: ChannelDependencies = {}): Map<string, Channel> {
  return new Map(Object.entries(channels).map(([name, config]) => [name, createChannel(name, config, deps)]));
}
