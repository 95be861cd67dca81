export { consoleChannel, type ConsoleChannelOptions } from './console.js';
export { EMAIL_TIMEOUT_MS, type EmailChannelOptions, emailChannel } from './email.js';
export { ChannelError, ChannelErrorCode } from './errors.js';
export {
  PAGERDUTY_EVENTS_URL,
  PAGERDUTY_SEVERITY,
  type PagerDutyChannelOptions,
  pagerDutyChannel,
  pagerDutyEvents,
} from './pagerduty.js';
export type { ContactLookup } from './recipients.js';
export { type SlackChannelOptions, slackChannel, slackMessage } from './slack.js';
export { callTwiml, smsBody, TWILIO_BASE_URL, type TwilioChannelOptions, twilioChannel } from './twilio.js';
export { type WebhookChannelOptions, webhookBody, webhookChannel } from './webhook.js';
export { type ChannelDependencies, createChannel, createChannels } from './factory.js';
export { channelEndpoint } from './endpoint.js';
