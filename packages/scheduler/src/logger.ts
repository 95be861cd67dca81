import { pino } from 'pino';

/** The part of pino's logger the scheduler uses (so tests and the CLI can pass their own). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger };

/** Masks the secrets a URL or an argument may carry (`redis://:pw@`, `token=…`). */
export function maskSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@')
    .replace(/((?:token|password|secret|passphrase)[=:]\s*)\S+/gi, '$1***');
}

/**
 * JSON lines on stdout (pino, written synchronously: a daemon logs little, and nothing is lost at exit): each job's
 * lines carry its runId; fields named like secrets are
 * redacted and URLs lose their credentials.
 */
export function jsonLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      redact: {
        paths: ['token', 'password', 'secret', '*.token', '*.password', '*.secret', 'headers.authorization'],
        censor: '***',
      },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) =>
          Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? maskSecrets(v) : v])),
      },
      hooks: {
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          method.apply(this, [first, ...rest.map((a) => (typeof a === 'string' ? maskSecrets(a) : a))] as Parameters<
            typeof method
          >);
        },
      },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ sync: true }),
  ) as unknown as Logger;
}
