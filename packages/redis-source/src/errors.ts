import { DrkitError } from '@drkit/errors';

export const RedisErrorCode = {
  BAD_URL: 'REDIS_BAD_URL',
  BAD_OPTIONS: 'REDIS_BAD_OPTIONS',
  CONNECT: 'REDIS_CONNECT',
  AUTH: 'REDIS_AUTH',
  /** The server went away or refused a command while drkit was reading or writing. */
  COMMAND: 'REDIS_COMMAND',
  CONFIRM_REQUIRED: 'REDIS_CONFIRM_REQUIRED',
} as const;
export type RedisErrorCode = (typeof RedisErrorCode)[keyof typeof RedisErrorCode];

export class RedisError extends DrkitError<RedisErrorCode> {}

const AUTH_FAILURE = /NOAUTH|WRONGPASS|invalid password|invalid username-password/i;

/** Turns an ioredis failure into a RedisError that names the server (masked) and what was being done. */
export function redisFailure(cause: unknown, label: string, doing: string): RedisError {
  if (cause instanceof RedisError) return cause;
  const text = (cause as Error)?.message ?? String(cause);
  if (AUTH_FAILURE.test(text))
    return new RedisError(RedisErrorCode.AUTH, `Redis at ${label} refused the credentials while drkit tried to ${doing}: ${text}.`, {
      cause,
      hint: `Check the password (and username) in the URL or the config; pass secrets through \${ENV} variables in drkit.config.yaml.`,
      details: { server: label },
    });
  const closed = /Connection is closed|ECONNRESET|EPIPE|ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Stream isn't writeable|connect/i.test(text);
  return new RedisError(
    closed ? RedisErrorCode.CONNECT : RedisErrorCode.COMMAND,
    closed
      ? `Lost or could not open the connection to Redis at ${label} while drkit tried to ${doing}: ${text}.`
      : `Redis at ${label} answered an error while drkit tried to ${doing}: ${text}.`,
    {
      cause,
      hint: closed
        ? 'Check that the server is running and reachable (host, port, TLS), then run the command again.'
        : 'Check that this user may run the command (ACL) and that it is not renamed or disabled on the server.',
      details: { server: label },
    },
  );
}
