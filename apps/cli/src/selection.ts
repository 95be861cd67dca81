import { hostname } from 'node:os';
import type { DrkitConfig } from '@drkit/config';
import {
  describeOrigin,
  type Repository,
  type SnapshotFilter,
  type SnapshotMeta,
  type SnapshotScope,
} from '@drkit/repository';
import { warn } from './output.js';

/** `--host`, `--source`, `--path` and `--tag` as commander hands them over (`--source` is single on ls). */
export interface FilterFlags {
  host?: string[];
  source?: string[] | string;
  path?: string[];
  /** Each `a,b` means both tags. */
  tag?: string[];
}

export function filterOf(opts: FilterFlags): SnapshotFilter {
  const sources = typeof opts.source === 'string' ? [opts.source] : opts.source;
  return {
    ...(opts.host?.length ? { hosts: opts.host } : {}),
    ...(sources?.length ? { sources } : {}),
    ...(opts.path?.length ? { paths: opts.path } : {}),
    ...(opts.tag?.length ? { tags: opts.tag.map((t) => t.split(',').filter(Boolean)) } : {}),
  };
}

/** With a config, `latest` means the latest snapshot of its sources on this host. */
function scopeOf(config: DrkitConfig | undefined): SnapshotScope | undefined {
  if (!config?.sources.length) return undefined;
  return { host: hostname(), sources: config.sources.map((s) => ({ name: s.name, type: s.type, ...originOf(s) })) };
}

/** A file source's path; one that needs an unset `${VAR}` cannot be compared, so that source matches by name alone. */
function originOf(s: DrkitConfig['sources'][number]): { origin?: string } {
  try {
    return s.type === 'files' ? { origin: s.path } : {};
  } catch {
    return {};
  }
}

/**
 * Resolves a snapshot ref through the filter flags and the config's
 * scope, saying on stderr which newer snapshots `latest` passed over.
 */
export function resolveRef(
  repo: Repository,
  ref: string,
  opts: FilterFlags,
  config: DrkitConfig | undefined,
): Promise<SnapshotMeta> {
  return repo.resolveSnapshot(ref, {
    filter: filterOf(opts),
    scope: scopeOf(config),
    onHidden: (hidden, chosen) => {
      const shown = hidden
        .slice(-3)
        .reverse()
        .map((s) => `${s.id} (${describeOrigin(s)})`);
      warn(
        `note: ${ref} is ${chosen.id}, the newest snapshot of this config's sources on ` +
          `host ${chosen.host}; ${hidden.length} newer snapshot(s) of other hosts or paths were passed ` +
          `over: ${shown.join('; ')}${hidden.length > 3 ? '; …' : ''}. Name one by id, or pass --host / ` +
          `--path, to use it.`,
      );
    },
  });
}
