import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DrkitConfig, readConfig } from '@drkit/config';
import { DrkitError } from '@drkit/errors';
import { Repository } from '@drkit/repository';
import { type BlobStore, LocalStore } from '@drkit/storage';
import type { GlobalOptions } from './output.js';

export const CliErrorCode = {
  NO_REPO: 'CLI_NO_REPO',
  BAD_REPO_URL: 'CLI_BAD_REPO_URL',
  USAGE: 'CLI_USAGE',
} as const;

const DEFAULT_CONFIG = 'drkit.config.yaml';

/** The config named by --config / DRKIT_CONFIG, or ./drkit.config.yaml when present. */
export async function loadConfig(opts: GlobalOptions): Promise<DrkitConfig | undefined> {
  const named = opts.config ?? process.env.DRKIT_CONFIG;
  if (named) return readConfig(named);
  return existsSync(DEFAULT_CONFIG) ? readConfig(DEFAULT_CONFIG) : undefined;
}

/** --repo, then DRKIT_REPO, then the config's repository. */
export function repoLocation(opts: GlobalOptions, config?: DrkitConfig): string {
  const loc = opts.repo ?? process.env.DRKIT_REPO ?? config?.repository;
  if (!loc)
    throw new DrkitError(CliErrorCode.NO_REPO, 'No repository given.', {
      hint: 'Pass --repo PATH, set DRKIT_REPO, or set `repository:` in drkit.config.yaml.',
    });
  return loc;
}

export function storeFor(location: string): BlobStore {
  if (location.startsWith('file://')) return new LocalStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:/i.test(location) && !/^[A-Za-z]:[\\/]/.test(location))
    throw new DrkitError(CliErrorCode.BAD_REPO_URL, `Unsupported repository location "${location}".`, {
      hint: 'Use a folder path or a file:// URL.',
    });
  return new LocalStore(path.resolve(location));
}

export async function openRepo(opts: GlobalOptions, config?: DrkitConfig): Promise<Repository> {
  return Repository.open(storeFor(repoLocation(opts, config)));
}

export function usage(message: string, hint: string): DrkitError {
  return new DrkitError(CliErrorCode.USAGE, message, { hint });
}
