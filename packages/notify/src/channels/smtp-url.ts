// Temporary: the same parser as notify-core's parseSmtpUrl for @drkit/config (not on main yet). When that lands,
// this file goes and email.ts imports parseSmtpUrl from @drkit/config.
export interface SmtpUrl {
  secure: boolean;
  host: string;
  port: number;
  user?: string;
  password?: string;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function parseSmtpUrl(text: string): SmtpUrl | string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (!scheme) return 'is not a URL (it must start with smtp:// or smtps://)';
  const protocol = scheme[1]!.toLowerCase();
  if (protocol !== 'smtp' && protocol !== 'smtps') return `has the scheme ${protocol}://, not smtp:// or smtps://`;
  const after = text.slice(scheme[0].length);
  const at = after.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : after.slice(0, at);
  const hostPart = (at === -1 ? after : after.slice(at + 1)).replace(/\/$/, '');
  const m = /^(\[[0-9a-f:.]+\]|[^\s:/?#[\]]+)(?::(\d*))?$/i.exec(hostPart);
  if (!m) return hostPart === '' ? 'has no host' : 'has a host part that is not host or host:port';
  const port = m[2] === undefined ? (protocol === 'smtps' ? 465 : 587) : Number(m[2]);
  if (m[2] === '' || !Number.isInteger(port) || port < 1 || port > 65535) return 'has a port that is not a number from 1 to 65535';
  const colon = userinfo?.indexOf(':') ?? -1;
  return {
    secure: protocol === 'smtps',
    host: m[1]!.replace(/^\[|\]$/g, ''),
    port,
    ...(userinfo !== undefined ? { user: decode(colon === -1 ? userinfo : userinfo.slice(0, colon)) } : {}),
    ...(userinfo !== undefined && colon !== -1 ? { password: decode(userinfo.slice(colon + 1)) } : {}),
  };
}
