import path from 'node:path';
import { RepoError, RepoErrorCode } from './errors.js';
import type { SnapshotMeta } from './format.js';

/** restic's snapshot filters; an empty filter selects every snapshot. */
export interface SnapshotFilter {
  /** Made on any of these hosts (`--host`, repeatable). */
  hosts?: readonly string[];
  /** Holds every one of these sources (`--source`, repeatable). */
  sources?: readonly string[];
  /** Holds a source read from each of these origins (`--path`, repeatable; a relative path is resolved). */
  paths?: readonly string[];
  /** Carries every tag of at least one list: `--tag a,b` means both, `--tag a --tag b` either. */
  tags?: ReadonlyArray<readonly string[]>;
}

/** A config's sources on one host: what `latest` means with a config, unless --host or --path says otherwise. */
export interface SnapshotScope {
  host: string;
  sources: ReadonlyArray<{ name: string; type: string; origin?: string }>;
}

export interface SnapshotSelection {
  filter?: SnapshotFilter;
  /**
   * Applies to `latest` and `latest:TAG` only (an id or prefix names its snapshot), and not with `hosts` or `paths`.
   */
  scope?: SnapshotScope;
  /** Told about newer snapshots the scope left out of `latest` (oldest first), so nothing is chosen silently. */
  onHidden?: (hidden: SnapshotMeta[], chosen: SnapshotMeta) => void;
}

type Described = { name: string; type: string; origin?: string };

/** Every source a snapshot was made of: those it holds and those that failed (one backup, one source set). */
export function sourceNames(s: SnapshotMeta): string[] {
  return [...s.sources, ...(s.failedSources ?? [])].map((x) => x.name);
}

const sameOrigin = (origin: string | undefined, wanted: string) =>
  origin !== undefined && (origin === wanted || origin === path.resolve(wanted));

export function matchesFilter(s: SnapshotMeta, f: SnapshotFilter = {}): boolean {
  if (f.hosts?.length && !f.hosts.includes(s.host)) return false;
  if (f.sources?.some((name) => !s.sources.some((x) => x.name === name))) return false;
  if (f.paths?.some((p) => !s.sources.some((x) => sameOrigin(x.origin, p)))) return false;
  if (f.tags?.length && !f.tags.some((all) => all.every((t) => s.tags.includes(t)))) return false;
  return true;
}

/**
 * Of this scope: made on its host, holding at least one of its sources, and every source of the
 * snapshot (held or failed) named like one of the scope's has its type and, for files, its origin.
 * So a partial snapshot of the config counts, and an ad-hoc backup of another folder that happens
 * to share a source name does not.
 */
export function inScope(s: SnapshotMeta, scope: SnapshotScope): boolean {
  if (s.host !== scope.host) return false;
  const wanted = new Map(scope.sources.map((x) => [x.name, x]));
  const conflicts = (x: Described) => {
    const w = wanted.get(x.name);
    return (
      w !== undefined && (x.type !== w.type || (w.type === 'files' && w.origin !== undefined && x.origin !== w.origin))
    );
  };
  return !s.sources.some(conflicts) && !s.failedSources?.some(conflicts) && s.sources.some((x) => wanted.has(x.name));
}

/** The scope in force: none when the filter chooses hosts or paths itself. */
function scopeOf(selection: SnapshotSelection): SnapshotScope | undefined {
  const f = selection.filter ?? {};
  return f.hosts?.length || f.paths?.length ? undefined : selection.scope;
}

/** `host app-1, source config, path /srv/app/config, tag daily` */
export function describeFilter(f: SnapshotFilter = {}): string {
  const parts = [
    f.hosts?.length ? `host ${f.hosts.join(' or ')}` : '',
    f.sources?.length ? `source ${f.sources.join(' and ')}` : '',
    f.paths?.length ? `path ${f.paths.join(' and ')}` : '',
    f.tags?.length ? `tag ${f.tags.map((t) => t.join('+')).join(' or ')}` : '',
  ];
  return parts.filter(Boolean).join(', ');
}

/** `host app-1: config from /srv/app/config, cache from redis://:***@cache:6379` */
export function describeOrigin(s: SnapshotMeta): string {
  const list = (xs: Described[]) => xs.map((x) => `${x.name}${x.origin ? ` from ${x.origin}` : ''}`).join(', ');
  return (
    `host ${s.host}: ${list(s.sources) || 'no sources'}` +
    `${s.failedSources?.length ? ` (failed: ${s.failedSources.map((x) => x.name).join(', ')})` : ''}`
  );
}

function describeScope(scope: SnapshotScope): string {
  const sources = scope.sources.map((x) => `${x.name}${x.type === 'files' && x.origin ? ` from ${x.origin}` : ''}`);
  return `this config's sources (${sources.join(', ')}) on host ${scope.host}`;
}

/** Throws unless a snapshot named by its full id passes the filter. */
export function checkSelected(s: SnapshotMeta, f: SnapshotFilter = {}): SnapshotMeta {
  if (matchesFilter(s, f)) return s;
  throw new RepoError(
    RepoErrorCode.SNAPSHOT_NOT_FOUND,
    `Snapshot ${s.id} (${describeOrigin(s)}; tags ${s.tags.join(',') || 'none'}) does not match ${describeFilter(f)}.`,
    {
      hint: 'Drop the --host/--source/--path/--tag flags that rule it out, or name another snapshot.',
      details: { id: s.id },
    },
  );
}

/**
 * The newest of `all` (oldest first) with `tag` that passes the selection. Throws
 * SNAPSHOT_NOT_FOUND saying what ruled the others out; `skipped` names damaged metadata.
 */
export function latestSnapshot(
  all: readonly SnapshotMeta[],
  tag: string,
  selection: SnapshotSelection,
  where: string,
  skipped: string,
): SnapshotMeta {
  const f = selection.filter ?? {};
  const tagged = tag ? all.filter((s) => s.tags.includes(tag)) : all;
  const candidates = tagged.filter((s) => matchesFilter(s, f));
  const scope = scopeOf(selection);
  const chosen = (scope ? candidates.filter((s) => inScope(s, scope)) : candidates).at(-1);
  if (chosen) {
    const hidden = candidates.slice(candidates.indexOf(chosen) + 1);
    if (hidden.length) selection.onHidden?.(hidden, chosen);
    return chosen;
  }
  const notFound = (message: string, hint: string) =>
    new RepoError(RepoErrorCode.SNAPSHOT_NOT_FOUND, `${message}${skipped}.`, { hint });
  if (all.length === 0)
    throw notFound(`The repository at ${where} has no snapshots yet`, 'Make one with `drkit backup`.');
  if (tagged.length === 0)
    throw notFound(
      `No snapshot in ${where} is tagged "${tag}"`,
      'List snapshots and their tags with `drkit snapshots`.',
    );
  if (candidates.length === 0)
    throw notFound(
      `No snapshot${tag ? ` tagged "${tag}"` : ''} in ${where} matches ${describeFilter(f)}`,
      'List them with `drkit snapshots`, and loosen --host/--source/--path/--tag.',
    );
  const newest = candidates.at(-1)!;
  throw notFound(
    `No snapshot${tag ? ` tagged "${tag}"` : ''} in ${where} is of ${describeScope(scope!)}; the newest ` +
      `other one is ${newest.id} (${describeOrigin(newest)})`,
    'Back up with this config (`drkit backup`), or choose a snapshot by id or with --host HOST / --path PATH.',
  );
}
