import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from './blob-store.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { LocalStore } from './local-store.js';
import { S3Store, type S3StoreOptions } from './s3-store.js';

/** Where a repository lives, parsed from a URL or config fields; open it with `openStore`. */
export type RepoLocation = { kind: 'local'; path: string } | { kind: 's3'; s3: S3StoreOptions };

const FORMS = 'a folder path, file:///path, s3://bucket/prefix, or s3:http://host:port/bucket/prefix';

function bad(input: string, why: string): StorageError {
  return new StorageError(StorageErrorCode.BAD_LOCATION, `Repository location "${input}" ${why}.`, {
    hint: `Use ${FORMS}.`,
  });
}

function bucketAndPrefix(input: string, rest: string): { bucket: string; prefix: string } {
  const [bucket, ...parts] = rest.split('/');
  if (!bucket) throw bad(input, 'names no bucket');
  return { bucket, prefix: parts.filter(Boolean).join('/') };
}

/**
 * Parses a repository URL as users write it:
 * - a folder path or `file:///path`;
 * - `s3://bucket/prefix` (AWS; honours AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION);
 * - restic's `s3:http://host:port/bucket/prefix` (or `s3:host/bucket/prefix`, https) for an
 *   S3-compatible server, with path-style addressing.
 * Credentials are not part of a URL: they come from the AWS chain or the config's fields.
 */
export function parseRepoLocation(input: string, env: NodeJS.ProcessEnv = process.env): RepoLocation {
  if (/^file:/i.test(input)) {
    try {
      return { kind: 'local', path: fileURLToPath(input) };
    } catch (cause) {
      throw bad(input, `is not a valid file:// URL (${(cause as Error).message})`);
    }
  }
  if (/^s3:\/\//i.test(input)) {
    const { bucket, prefix } = bucketAndPrefix(input, input.slice('s3://'.length));
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
    return { kind: 's3', s3: { bucket, prefix, ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}) } };
  }
  if (/^s3:/i.test(input)) {
    let rest = input.slice(3);
    let scheme = 'https';
    const m = /^(https?):\/\/(.*)$/i.exec(rest);
    if (m) {
      scheme = m[1]!.toLowerCase();
      rest = m[2]!;
    }
    const [host, ...tail] = rest.split('/');
    if (!host) throw bad(input, 'names no host');
    const { bucket, prefix } = bucketAndPrefix(input, tail.join('/'));
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
    return {
      kind: 's3',
      s3: { bucket, prefix, endpoint: `${scheme}://${host}`, forcePathStyle: true, ...(region ? { region } : {}) },
    };
  }
  // Anything else with a scheme is a mistake, not a folder named "sftp:…" (drive letters excepted).
  if (/^[a-z][a-z0-9+.-]*:/i.test(input) && !/^[A-Za-z]:[\\/]/.test(input))
    throw bad(input, 'uses a scheme drkit does not support');
  return { kind: 'local', path: path.resolve(input) };
}

/** The BlobStore for a parsed location. */
export function openStore(location: RepoLocation): BlobStore {
  return location.kind === 'local' ? new LocalStore(location.path) : new S3Store(location.s3);
}
