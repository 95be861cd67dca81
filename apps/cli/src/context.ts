import { existsSync } from 'node:fs';
import type { DrkitConfig, RepositoryConfig } from '@drkit/config';
import { DrkitError } from '@drkit/errors';
import { defaultCacheDir, Repository, type SigningKey } from '@drkit/repository';
import { type BlobStore, MeteredStore } from '@drkit/storage';
import { keyOptions, trustKeys } from './keys.js';
import { type GlobalOptions, warn } from './output.js';
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

/** This host's cache folder: DRKIT_CACHE_DIR, else ~/.cache/drkit (file lists for incrementals, trust marks). */
export function hostCacheDir(): string {
  return process.env.DRKIT_CACHE_DIR || defaultCacheDir();
}

/**
 * What a command adds when it opens a repository: a signing key, and where this host keeps its cache (null: nowhere).
 */
export interface OpenExtras {
  signingKey?: SigningKey;
  cacheDir?: string | null;
}

/**
 * Opens the repository with the keys given (--identity, a passphrase) for reading encrypted
 * data and the signing keys this host trusts; `onBytes` sees the bytes stored and read, for progress.
 */
export async function openRepo(
  opts: GlobalOptions,
  config?: DrkitConfig,
  onBytes?: (m: { written: number; read: number }) => void,
  extras: OpenExtras = {},
): Promise<Repository> {
  const store = storeFor(repoLocation(opts, config));
  const cacheDir = extras.cacheDir === undefined ? hostCacheDir() : extras.cacheDir;
  return Repository.open(onBytes ? new MeteredStore(store, onBytes) : store, {
    ...(await keyOptions(opts)),
    signingKey: extras.signingKey,
    trust: {
      keys: trustKeys(opts, config),
      ...(cacheDir ? { stateDir: cacheDir } : {}),
      onWarning: (m) => warn(`warning: ${m}`),
    },
  });
}
