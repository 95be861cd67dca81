import { RedisError, RedisErrorCode } from './errors.js';

export interface ParsedRedisUrl {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
}

/** Replaces a URL's password (and any `password=` query value) with `***`, for messages and --json. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}${userinfo ? '***' : ''}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  }).replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const bad = (why: string) =>
    new RedisError(RedisErrorCode.BAD_URL, `Cannot use the Redis URL ${maskUrl(url)}: ${why}.`, {
      hint: 'Write it as redis://[:password@]host:port[/db] (rediss:// for TLS), e.g. redis://127.0.0.1:6379/0.',
    });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('it is not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`the scheme must be redis:// or rediss://, not ${u.protocol}//`);
  if (!u.hostname) throw bad('it has no host');
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, '');
  if (path && !/^\d+$/.test(path)) throw bad(`the path "/${path}" must be a database number`);
  const out: ParsedRedisUrl = { host: u.hostname.replace(/^\[|\]$/g, ''), port, tls: u.protocol === 'rediss:' };
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  if (path) out.db = Number(path);
  return out;
}
