import { DrkitError } from '@drkit/errors';

export const RedisErrorCode = {
  BAD_URL: 'REDIS_BAD_URL',
  BAD_OPTIONS: 'REDIS_BAD_OPTIONS',
  CONNECT: 'REDIS_CONNECT',
  AUTH: 'REDIS_AUTH',
  /** The server went away or refused a command while drkit was reading or writing. */
  COMMAND: 'REDIS_COMMAND',
  CONFIRM_REQUIRED: 'REDIS_CONFIRM_REQUIRED',
  /** SELECT of a database number failed: the server has fewer databases, or the user may not select it. */
  NO_SUCH_DB: 'REDIS_NO_SUCH_DB',
} as const;
export type RedisErrorCode = (typeof RedisErrorCode)[keyof typeof RedisErrorCode];

export class RedisError extends DrkitError<RedisErrorCode> {}

const AUTH_FAILURE = /NOAUTH|WRONGPASS|invalid password|invalid username-password/i;

/** Turns an ioredis failure into a RedisError that names the server (masked) and what was being done. */
export function redisFailure(cause: unknown, label: string, doing: string): RedisError {
  if (cause instanceof RedisError) return cause;
  const text = (cause as Error)?.message ?? String(cause);
  if (AUTH_FAILURE.test(text))
    return new RedisError(
      RedisErrorCode.AUTH,
      `Redis at ${label} refused the credentials while drkit tried to ${doing}: ${text}.`,
      {
        cause,
        hint:
          `Check the password (and username) in the URL or the config; pass secrets through \${ENV} variables ` +
          `in drkit.config.yaml.`,
        details: { server: label },
      },
    );
  const closed =
    // long-line: one regex of the connection errors, like the others
    /Connection is closed|ECONNRESET|EPIPE|ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Stream isn't writeable|connect/i.test(
      text,
    );
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

/**
 * A failed SELECT: connection and credential problems stay what
 * they are, an error reply means the database cannot be used.
 */
export function selectFailure(cause: unknown, label: string, db: number): RedisError {
  const e = redisFailure(cause, label, `select database ${db}`);
  if (e.code !== RedisErrorCode.COMMAND) return e;
  const answer = (cause as Error)?.message ?? String(cause);
  return new RedisError(
    RedisErrorCode.NO_SUCH_DB,
    `Redis at ${label} cannot select database ${db}: it answered "${answer}".`,
    {
      cause,
      hint:
        `A server has as many databases as its \`databases\` setting (16 by default, numbered from 0): use ` +
        `one that exists, or start the server with \`databases ${db + 1}\` or more. If an ACL forbids SELECT, ` +
        `allow it for this user.`,
      details: { server: label, db },
    },
  );
}
