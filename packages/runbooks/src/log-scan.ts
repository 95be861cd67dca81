import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { globMatcher } from '@drkit/repository';
import { RunbookError, RunbookErrorCode } from './errors.js';

/** The DR plan's patterns. */
export const DEFAULT_LOG_PATTERNS = ['suspicious', 'error', 'unauthorized'];

export interface PatternMatches {
  pattern: string;
  count: number;
  /** The first and last time stamp seen on a matching line (else `file:line`). */
  first_seen: string | null;
  last_seen: string | null;
  files: number;
  top_ips: { ip: string; count: number }[];
  top_users: { user: string; count: number }[];
}

export interface LogScanReport {
  files: number;
  lines: number;
  bytes: number;
  matches: PatternMatches[];
}

const TIME = /\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?/;
const IPV4 = /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/g;
const USER = /\b(?:user(?:name)?|uid|login)["']?\s*[=:]\s*["']?([\w.@-]{1,64})/gi;
/** Distinct IPs and users counted per pattern; past this, new ones are not tracked (memory stays flat). */
const MAX_TRACKED = 10_000;
const TOP = 10;

class Tally {
  count = 0;
  first: string | null = null;
  last: string | null = null;
  readonly files = new Set<string>();
  readonly ips = new Map<string, number>();
  readonly users = new Map<string, number>();
}

function bump(map: Map<string, number>, key: string): void {
  const n = map.get(key);
  if (n !== undefined) map.set(key, n + 1);
  else if (map.size < MAX_TRACKED) map.set(key, 1);
}

const top = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP);

/** The folder a glob starts in: its segments before the first one with a wildcard. */
function globBase(glob: string): string {
  const parts = glob.split('/');
  const i = parts.findIndex((p) => /[*?[\]{}!]/.test(p));
  return i === -1 ? path.dirname(glob) : parts.slice(0, i).join('/') || (glob.startsWith('/') ? '/' : '.');
}

async function* walk(dir: string): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

/** Files matching any glob (relative globs against `cwd`), each once, in path order. */
export async function logFiles(globs: string[], cwd: string): Promise<string[]> {
  const found = new Set<string>();
  for (const glob of globs) {
    const abs = path.resolve(cwd, glob);
    const matches = globMatcher([abs]);
    for await (const file of walk(globBase(abs))) if (matches(file)) found.add(file);
  }
  return [...found].sort();
}

/**
 * Scans log files (gzip'd ones by their .gz name) line by line in constant memory: per pattern
 * (a case-insensitive regex), the matching lines, first and last time seen, and the IPs and users
 * on them most often.
 */
export async function scanLogs(
  globs: string[],
  patterns: string[] = DEFAULT_LOG_PATTERNS,
  cwd = process.cwd(),
): Promise<LogScanReport> {
  const regexes = patterns.map((p) => {
    try {
      return new RegExp(p, 'i');
    } catch (e) {
      throw new RunbookError(
        RunbookErrorCode.LOG_SCAN,
        `--pattern ${JSON.stringify(p)} is not a regular expression: ${(e as Error).message}.`,
        { hint: 'Give a JavaScript regular expression, e.g. --pattern "failed login".' },
      );
    }
  });
  const files = await logFiles(globs, cwd);
  if (!files.length)
    throw new RunbookError(
      RunbookErrorCode.LOG_SCAN,
      `No file matches ${globs.map((g) => JSON.stringify(g)).join(', ')}.`,
      { hint: "Quote the glob so the shell leaves it alone: --glob 'logs/**/*.log'." },
    );
  const tallies = patterns.map(() => new Tally());
  const report: LogScanReport = { files: files.length, lines: 0, bytes: 0, matches: [] };
  for (const file of files) {
    const raw = createReadStream(file);
    raw.on('data', (d) => (report.bytes += d.length));
    const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    let lineNo = 0;
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      lineNo++;
      report.lines++;
      let when: string | undefined;
      regexes.forEach((re, i) => {
        if (!re.test(line)) return;
        const t = tallies[i]!;
        t.count++;
        when ??= TIME.exec(line)?.[0] ?? `${file}:${lineNo}`;
        // Time stamps of one format order as strings; files need not be in time order.
        if (t.first === null || (TIME.test(when) && when < t.first)) t.first = when;
        if (t.last === null || !TIME.test(when) || when > t.last) t.last = when;
        t.files.add(file);
        for (const ip of line.match(IPV4) ?? []) bump(t.ips, ip);
        for (const m of line.matchAll(USER)) bump(t.users, m[1]!);
      });
    }
  }
  report.matches = patterns.map((pattern, i) => {
    const t = tallies[i]!;
    return {
      pattern,
      count: t.count,
      first_seen: t.first,
      last_seen: t.last,
      files: t.files.size,
      top_ips: top(t.ips).map(([ip, count]) => ({ ip, count })),
      top_users: top(t.users).map(([user, count]) => ({ user, count })),
    };
  });
  return report;
}
