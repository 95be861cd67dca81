import { RedisError, RedisErrorCode } from './errors.js';

export interface ParsedRedisUrl {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
}

const SCHEME = /^([a-z][a-z0-9+.-]*:\/\/)/i;

/** Splits `scheme://userinfo@rest` at the LAST `@`: a password may hold `@`, `/` or `:` unencoded. */
function splitUserinfo(url: string): { scheme: string; userinfo: string | undefined; rest: string } | undefined {
  const m = SCHEME.exec(url);
  if (!m) return undefined;
  const after = url.slice(m[1]!.length);
  const at = after.lastIndexOf('@');
  return at === -1
    ? { scheme: m[1]!, userinfo: undefined, rest: after }
    : { scheme: m[1]!, userinfo: after.slice(0, at), rest: after.slice(at + 1) };
}

/** Replaces a URL's password (and any `password=` query value) with `***`, for messages and --json. */
export function maskUrl(url: string): string {
  const parts = splitUserinfo(url);
  let out = url;
  if (parts?.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(':');
    const user = colon === -1 ? '' : parts.userinfo.slice(0, colon);
    out = `${parts.scheme}${user}:***@${parts.rest}`;
  }
  return out.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS; the password may be percent-encoded. */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const bad = (why: string) =>
    new RedisError(RedisErrorCode.BAD_URL, `Cannot use the Redis URL ${maskUrl(url)}: ${why}.`, {
      hint: 'Write it as redis://[:password@]host:port[/db] (rediss:// for TLS), e.g. redis://127.0.0.1:6379/0.',
    });
  const parts = splitUserinfo(url);
  if (!parts) throw bad('it is not a URL');
  const scheme = parts.scheme.toLowerCase();
  if (scheme !== 'redis://' && scheme !== 'rediss://')
    throw bad(`the scheme must be redis:// or rediss://, not ${parts.scheme}`);
  let u: URL;
  try {
    // The credentials are taken apart above; URL parses only what follows them.
    u = new URL(`redis://${parts.rest}`);
  } catch {
    throw bad('its host, port or path cannot be read');
  }
  if (!u.hostname) throw bad('it has no host');
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, '');
  if (path && !/^\d+$/.test(path)) throw bad(`the path "/${path}" must be a database number`);
  const out: ParsedRedisUrl = { host: u.hostname.replace(/^\[|\]$/g, ''), port, tls: scheme === 'rediss://' };
  if (parts.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(':');
    const user = colon === -1 ? parts.userinfo : parts.userinfo.slice(0, colon);
    if (user) out.username = decode(user);
    if (colon !== -1 && colon < parts.userinfo.length - 1) out.password = decode(parts.userinfo.slice(colon + 1));
  }
  if (path) out.db = Number(path);
  return out;
}
