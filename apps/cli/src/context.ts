import { existsSync } from 'node:fs';
import type { DrkitConfig, RepositoryConfig } from '@drkit/config';
import { DrkitError } from '@drkit/errors';
import { Repository } from '@drkit/repository';
import { type BlobStore, MeteredStore } from '@drkit/storage';
import { keyOptions } from './keys.js';
import type { GlobalOptions } from './output.js';
import { storeForLocation } from './stores.js';
import { CliErrorCode } from './usage.js';

export { CliErrorCode, usage } from './usage.js';

const DEFAULT_CONFIG = 'drkit.config.yaml';

/** The config named by --config / DRKIT_CONFIG, or ./drkit.config.yaml when present. */
export async function loadConfig(opts: GlobalOptions): Promise<DrkitConfig | undefined> {
  const file = opts.config ?? process.env.DRKIT_CONFIG ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  if (file === undefined) return undefined;
  // Loaded only when there is a config to read: the YAML parser and the config schema take ~20 ms to load.
  const { readConfig } = await import('@drkit/config');
  return readConfig(file);
}

/** --repo, then DRKIT_REPO, then the config's repository. */
export function repoLocation(opts: GlobalOptions, config?: DrkitConfig): RepositoryConfig {
  const loc = opts.repo ?? process.env.DRKIT_REPO ?? config?.repository;
  if (!loc)
    throw new DrkitError(CliErrorCode.NO_REPO, 'No repository given.', {
      hint: 'Pass --repo PATH, set DRKIT_REPO, or set `repository:` in drkit.config.yaml.',
    });
  return loc;
}

/** A folder path, file://, s3://bucket/prefix or s3:http://host:port/bucket/prefix, or the config's fields. */
export function storeFor(location: RepositoryConfig): BlobStore {
  return storeForLocation(location);
}

/**
 * Opens the repository with the keys given (--identity, a passphrase) for reading encrypted
 * data; `onBytes` sees the bytes stored and read, for progress.
 */
export async function openRepo(opts: GlobalOptions, config?: DrkitConfig, onBytes?: (m: { written: number; read: number }) => void): Promise<Repository> {
  const store = storeFor(repoLocation(opts, config));
  return Repository.open(onBytes ? new MeteredStore(store, onBytes) : store, await keyOptions(opts));
}
