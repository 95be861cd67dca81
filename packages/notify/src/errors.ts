import { DrkitError } from '@drkit/errors';

export const NotifyErrorCode = {
  /** No incident has that id (or unique prefix). */
  NOT_FOUND: 'NOTIFY_NOT_FOUND',
  /** A prefix that more than one incident id starts with. */
  AMBIGUOUS_ID: 'NOTIFY_AMBIGUOUS_ID',
  /** The change does not apply: e.g. updating or acknowledging a resolved incident. */
  CLOSED: 'NOTIFY_CLOSED',
  /** A channel name that notify.channels does not define. */
  UNKNOWN_CHANNEL: 'NOTIFY_UNKNOWN_CHANNEL',
  /** A channel type with no adapter in this build. */
  NO_ADAPTER: 'NOTIFY_NO_ADAPTER',
  /** A stored incident or outbox record that does not match its schema. */
  DAMAGED: 'NOTIFY_DAMAGED',
} as const;
export type NotifyErrorCode = (typeof NotifyErrorCode)[keyof typeof NotifyErrorCode];

export class NotifyError extends DrkitError<NotifyErrorCode> {}
