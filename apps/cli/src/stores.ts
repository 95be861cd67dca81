import type { RepositoryConfig } from '@drkit/config';
import { type BlobStore, MiB, openStore, parseRepoLocation, type RepoLocation } from '@drkit/storage';
import { wholeNumberFromEnv } from './flags.js';

// drkit supports Node 20; the SDK's notice about its own future Node support is not the user's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The config's `repository` (a URL, a path or fields) as a location. */
export function locationOf(repo: RepositoryConfig, env: NodeJS.ProcessEnv = process.env): RepoLocation {
  if (typeof repo === 'string') return parseRepoLocation(repo, env);
  if (repo.path !== undefined) return { kind: 'local', path: repo.path };
  const base =
    repo.url !== undefined
      ? parseRepoLocation(repo.url, env)
      : ({ kind: 's3', s3: { bucket: repo.bucket!, prefix: repo.prefix ?? '' } } as RepoLocation);
  if (base.kind === 'local') return base;
  const s3 = { ...base.s3 };
  if (repo.bucket === undefined && repo.prefix !== undefined)
    s3.prefix = [s3.prefix, repo.prefix].filter(Boolean).join('/');
  if (repo.url === undefined) {
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
    if (endpoint) s3.endpoint = endpoint;
    if (region) s3.region = region;
  }
  if (repo.endpoint) s3.endpoint = repo.endpoint;
  if (repo.region) s3.region = repo.region;
  if (repo.force_path_style !== undefined) s3.forcePathStyle = repo.force_path_style;
  if (repo.access_key_id && repo.secret_access_key)
    s3.credentials = {
      accessKeyId: repo.access_key_id,
      secretAccessKey: repo.secret_access_key,
      ...(repo.session_token ? { sessionToken: repo.session_token } : {}),
    };
  if (repo.part_size_mib) s3.partSize = repo.part_size_mib * MiB;
  if (repo.checksums) s3.checksums = repo.checksums;
  return { kind: 's3', s3 };
}

/** Opens the store a `--repo` value, DRKIT_REPO or the config's `repository` names. */
export function storeForLocation(repo: RepositoryConfig): BlobStore {
  const loc = locationOf(repo);
  // Test and tuning knobs for S3, from the environment (documented in the README).
  if (loc.kind === 's3') {
    const partSizeMib = wholeNumberFromEnv('DRKIT_S3_PART_SIZE_MIB');
    const maxAttempts = wholeNumberFromEnv('DRKIT_S3_MAX_ATTEMPTS');
    const socketTimeoutMs = wholeNumberFromEnv('DRKIT_S3_SOCKET_TIMEOUT_MS');
    const minReadRate = wholeNumberFromEnv('DRKIT_S3_MIN_READ_RATE');
    if (partSizeMib !== undefined) loc.s3.partSize = partSizeMib * MiB;
    if (maxAttempts !== undefined) loc.s3.maxAttempts = maxAttempts;
    if (socketTimeoutMs !== undefined) loc.s3.socketTimeoutMs = socketTimeoutMs;
    if (minReadRate !== undefined) loc.s3.minReadRate = minReadRate;
  }
  return openStore(loc);
}
