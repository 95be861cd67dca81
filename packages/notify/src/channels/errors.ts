import { DrkitError } from '@drkit/errors';

/** Errors from building a channel (a failed delivery is never thrown: it is a `Delivery`). */
export const ChannelErrorCode = {
  /** An endpoint that is not an http:// or https:// URL. */
  BAD_URL: 'NOTIFY_CHANNEL_BAD_URL',
  /** `smtp_url` that is not smtp://… or smtps://…; the message says what is wrong, never the value. */
  BAD_SMTP_URL: 'NOTIFY_CHANNEL_BAD_SMTP_URL',
  /** `ca_file` that cannot be read. */
  CA_FILE: 'NOTIFY_CHANNEL_CA_FILE',
} as const;
export type ChannelErrorCode = (typeof ChannelErrorCode)[keyof typeof ChannelErrorCode];

export class ChannelError extends DrkitError<ChannelErrorCode> {}
