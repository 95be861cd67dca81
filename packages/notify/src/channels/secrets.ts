/** Secrets shorter than this are not searched for: masking every "a" would garble the text and hide nothing. */
const MIN_SECRET = 3;

/** A function that replaces every secret (and its URL-encoded form) in a text with `***`. */
export function redactor(secrets: ReadonlyArray<string | undefined>): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < MIN_SECRET) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is masked whole.
  const list = [...forms].sort((a, b) => b.length - a.length);
  return (text) => list.reduce((out, s) => out.split(s).join('***'), text);
}

/** `https://hooks.slack.com/***`: a webhook URL's path and query are its secret (Slack's /services/T…/B…/…). */
export function maskUrlPath(url: URL): string {
  return url.pathname === '/' && url.search === '' ? url.origin : `${url.origin}/***`;
}

/** The URL without user and password (`https://***@host/path`). */
export function maskUrlUser(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '***';
  copy.password = '';
  return copy.href;
}

const decoded = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** What may be secret in a webhook URL: the path, its long segments (tokens), the query and its values, a password. */
export function urlSecrets(url: URL): string[] {
  const segments = url.pathname.split('/').filter((s) => s.length >= 8);
  return [url.pathname, ...segments, ...segments.map(decoded), url.search, ...url.searchParams.values(), url.password];
}
