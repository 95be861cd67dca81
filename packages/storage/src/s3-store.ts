import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { GetObjectCommandOutput, HeadObjectCommandOutput, ListMultipartUploadsCommandOutput, ListObjectsV2CommandOutput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { assertValidKey, type BlobBody, type BlobInfo, type BlobStore } from './blob-store.js';
import { StorageError, StorageErrorCode } from './errors.js';

// The AWS SDK costs ~35 MiB and ~0.1 s to load, so only S3 repositories load it, on first use.
// (Node resolves both packages to their CommonJS builds either way, so this is the same module.)
const requireSdk = createRequire(import.meta.url);
let sdk: { s3: typeof import('@aws-sdk/client-s3'); storage: typeof import('@aws-sdk/lib-storage') } | undefined;
const aws = () => (sdk ??= { s3: requireSdk('@aws-sdk/client-s3'), storage: requireSdk('@aws-sdk/lib-storage') });

export const MiB = 1024 * 1024;
/** S3's minimum part size (all parts but the last). */
export const MIN_PART_SIZE = 5 * MiB;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/`. */
  prefix?: string;
  /** Default: the AWS chain (AWS_REGION, ~/.aws/config), or us-east-1 for a custom endpoint. */
  region?: string;
  /** An S3-compatible server, e.g. http://127.0.0.1:9000. Default: AWS. */
  endpoint?: string;
  /** Path-style addressing (`host/bucket/key`); default true with a custom endpoint. */
  forcePathStyle?: boolean;
  /** Default: the standard AWS credential chain (env, shared files, SSO, instance roles). */
  credentials?: S3Credentials;
  /** Multipart part size in bytes (≥ 5 MiB, default 16 MiB). Memory per upload ≈ partSize × (queueSize + 1). */
  partSize?: number;
  /** Parts uploaded at once per blob (default 2). */
  queueSize?: number;
  /** Attempts per request, with exponential backoff and jitter between them (default 5). */
  maxAttempts?: number;
  /** A request whose socket is idle this long fails and is retried (default 60 s): catches stalls. */
  socketTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /**
   * Checksums: `when_supported` is the SDK's default for AWS; S3-compatible servers often
   * reject its trailing checksums, so `when_required` is the default with a custom endpoint.
   */
  checksums?: 'when_required' | 'when_supported';
  /** Keys per ListObjectsV2 page (default 1000; tests use small pages). */
  listPageSize?: number;
}

/** `s3://bucket/prefix` or, for a custom endpoint, restic's `s3:http://host:port/bucket/prefix`. */
export function s3LocationText(o: Pick<S3StoreOptions, 'bucket' | 'prefix' | 'endpoint'>): string {
  const path = [o.bucket, o.prefix].filter(Boolean).join('/');
  return o.endpoint ? `s3:${o.endpoint.replace(/\/+$/, '')}/${path}` : `s3://${path}`;
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** Worth another try: throttling, 5xx, and anything below HTTP (timeouts, resets, a response cut short). */
function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  return status === undefined || status >= 500 || status === 429 || status === 408;
}

/** Backoff with full jitter: up to 100 ms × 2^attempt, at most 20 s (the SDK's standard curve). */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(20_000, 100 * 2 ** attempt);
}

/**
 * A BlobStore in an S3 bucket (AWS or S3-compatible). Uploads stream through multipart
 * uploads of `partSize` parts, so memory does not grow with the blob; an object becomes
 * visible only when its upload completes, and a failed upload is aborted, leaving no parts.
 */
export class S3Store implements BlobStore {
  readonly location: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly maxAttempts: number;
  private readonly listPageSize: number | undefined;
  // Called with the final error of an UploadPart, so the other parts of that upload stop early.
  private readonly partFailed = new Map<string, (err: unknown) => void>();

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.location = s3LocationText({ bucket: this.bucket, prefix: this.prefix, endpoint: options.endpoint });
    this.partSize = Math.max(MIN_PART_SIZE, options.partSize ?? 16 * MiB);
    this.queueSize = Math.max(1, options.queueSize ?? 2);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.listPageSize = options.listPageSize;
    const custom = options.endpoint !== undefined;
    const checksums = (options.checksums ?? (custom ? 'when_required' : 'when_supported')) === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    const config: S3ClientConfig = {
      region: options.region ?? (custom ? 'us-east-1' : undefined),
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? custom,
      followRegionRedirects: true,
      maxAttempts: this.maxAttempts,
      retryMode: 'standard',
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
      requestHandler: { socketTimeout: options.socketTimeoutMs ?? 60_000, connectionTimeout: options.connectionTimeoutMs ?? 10_000 },
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.client = new (aws().s3.S3Client)(config);
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if (context.commandName === 'UploadPartCommand') this.partFailed.get((args.input as { Key?: string }).Key ?? '')?.(err);
          throw err;
        }
      },
      { step: 'initialize', name: 'drkitPartFailed' },
    );
  }

  private fullKey(key: string): string {
    try {
      assertValidKey(key);
    } catch (cause) {
      throw new StorageError(StorageErrorCode.BAD_KEY, `Invalid blob key ${JSON.stringify(key)}.`, { cause });
    }
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async put(key: string, body: BlobBody): Promise<BlobInfo> {
    const Key = this.fullKey(key);
    let size = 0;
    let failed: unknown;
    const source =
      body instanceof Uint8Array
        ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
        : Readable.from(
            (async function* () {
              for await (const chunk of body) {
                const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
                size += bytes.length;
                yield bytes;
              }
            })(),
            { objectMode: false },
          );
    if (source instanceof Buffer) size = source.length;
    const started = new Date(Date.now() - 60_000);
    // leavePartsOnError: we abort ourselves, with retries, and keep the error that caused it.
    const upload = new (aws().storage.Upload)({ client: this.client, params: { Bucket: this.bucket, Key, Body: source }, partSize: this.partSize, queueSize: this.queueSize, leavePartsOnError: true });
    this.partFailed.set(Key, (err) => {
      failed ??= err;
      if (source instanceof Readable) source.destroy(err as Error);
    });
    try {
      await upload.done();
      return { key, size };
    } catch (err) {
      const cause = failed ?? err;
      if (source instanceof Readable) source.destroy();
      const leftover = await this.abortUploads(Key, upload.uploadId, started);
      throw this.error(`upload ${key}`, key, cause, leftover);
    } finally {
      this.partFailed.delete(Key);
    }
  }

  /** Aborts our multipart upload (and any other unfinished one for this key we started); returns an error if some remain. */
  private async abortUploads(Key: string, uploadId: string | undefined, since: Date): Promise<unknown> {
    const ids = new Set<string>(uploadId ? [uploadId] : []);
    try {
      const listed: ListMultipartUploadsCommandOutput = await this.client.send(new (aws().s3.ListMultipartUploadsCommand)({ Bucket: this.bucket, Prefix: Key }));
      for (const u of listed.Uploads ?? []) if (u.Key === Key && u.UploadId && (!u.Initiated || u.Initiated >= since)) ids.add(u.UploadId);
    } catch {
      // Some S3-compatible servers cannot list uploads; the id we know is enough.
    }
    let lastError: unknown;
    for (const UploadId of ids) {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.client.send(new (aws().s3.AbortMultipartUploadCommand)({ Bucket: this.bucket, Key, UploadId }));
          break;
        } catch (err) {
          if (statusOf(err) === 404) break; // already gone
          if (attempt >= this.maxAttempts) {
            lastError = err;
            break;
          }
          await sleep(backoffMs(attempt));
        }
      }
    }
    return lastError;
  }

  async get(key: string): Promise<Readable> {
    const Key = this.fullKey(key);
    let first: GetObjectCommandOutput;
    try {
      first = await this.client.send(new (aws().s3.GetObjectCommand)({ Bucket: this.bucket, Key }));
    } catch (err) {
      throw this.error(`read ${key}`, key, err);
    }
    const self = this;
    const total = first.ContentLength;
    const etag = first.ETag;
    // A response cut short (reset, stall) resumes where it stopped, from the same object version.
    async function* bytes(): AsyncGenerator<Buffer> {
      let res = first;
      let offset = 0;
      let attempt = 0;
      try {
        for (;;) {
          try {
            for await (const chunk of res.Body as Readable) {
              offset += (chunk as Buffer).length;
              attempt = 0;
              yield chunk as Buffer;
            }
            if (total !== undefined && offset < total) throw Object.assign(new Error(`the response ended after ${offset} of ${total} bytes`), { name: 'TruncatedResponse' });
            return;
          } catch (err) {
            (res.Body as Readable | undefined)?.destroy();
            if (++attempt >= self.maxAttempts || !isTransient(err)) throw self.error(`read ${key}`, key, err);
            await sleep(backoffMs(attempt));
            try {
              res = await self.client.send(new (aws().s3.GetObjectCommand)({ Bucket: self.bucket, Key, Range: `bytes=${offset}-`, ...(etag ? { IfMatch: etag } : {}) }));
            } catch (again) {
              throw self.error(`read ${key}`, key, again);
            }
          }
        }
      } finally {
        (res.Body as Readable | undefined)?.destroy();
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    const Key = this.fullKey(key);
    try {
      const head: HeadObjectCommandOutput = await this.client.send(new (aws().s3.HeadObjectCommand)({ Bucket: this.bucket, Key }));
      return { key, size: head.ContentLength ?? 0 };
    } catch (err) {
      if (statusOf(err) === 404 && (err as Error).name !== 'NoSuchBucket') return undefined;
      throw this.error(`stat ${key}`, key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const base = this.prefix ? `${this.prefix}/` : '';
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(new (aws().s3.ListObjectsV2Command)({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token, MaxKeys: this.listPageSize }));
      } catch (err) {
        throw this.error(`list ${prefix || '(everything)'}`, prefix, err);
      }
      for (const o of page.Contents ?? []) {
        // Folder markers ("a/") made by consoles are not blobs.
        if (!o.Key || o.Key.endsWith('/')) continue;
        yield { key: o.Key.slice(base.length), size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.client.send(new (aws().s3.DeleteObjectCommand)({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (statusOf(err) === 404 && (err as Error).name !== 'NoSuchBucket') return;
      throw this.error(`delete ${key}`, key, err);
    }
  }

  /** A StorageError that says what failed, why, and what to do; never carries credentials. */
  private error(what: string, key: string, cause: unknown, leftover?: unknown): StorageError {
    if (cause instanceof StorageError) return cause;
    const e = cause as { name?: string; message?: string; code?: string } | null;
    const name = e?.name ?? 'Error';
    const status = statusOf(cause);
    const where = `${this.location}`;
    const orphan = leftover
      ? ` An unfinished multipart upload for ${key} may remain (aborting it failed: ${(leftover as Error).message}); a bucket lifecycle rule "AbortIncompleteMultipartUpload" removes such leftovers.`
      : '';
    if (name === 'NoSuchKey' || (status === 404 && name !== 'NoSuchBucket' && what.startsWith('read')))
      return new StorageError(StorageErrorCode.NOT_FOUND, `${key} does not exist in ${where}.`, {
        cause,
        hint: 'Check the repository location, or run verify to see what is missing.',
        details: { key },
      });
    if (name === 'NoSuchBucket')
      return new StorageError(StorageErrorCode.NO_BUCKET, `The bucket "${this.bucket}" does not exist (${where}).`, {
        cause,
        hint: `Create it first (e.g. \`aws s3 mb s3://${this.bucket}\`), or check the bucket name and endpoint in the repository URL.`,
      });
    if (name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(e?.message ?? '') && status === undefined)
      return new StorageError(StorageErrorCode.NO_CREDENTIALS, `No AWS credentials were found to ${what} in ${where}.`, {
        cause,
        hint: 'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or access_key_id / secret_access_key in the config).',
      });
    if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch')
      return new StorageError(StorageErrorCode.ACCESS_DENIED, `Access denied to ${what} in ${where} (${name}).${orphan}`, {
        cause,
        hint: 'Check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the config) and that they may read, write, list and delete in this bucket and prefix.',
      });
    if (/Region is missing/i.test(e?.message ?? ''))
      return new StorageError(StorageErrorCode.BAD_LOCATION, `No AWS region is configured for ${where}.`, {
        cause,
        hint: 'Set AWS_REGION (or region: in the repository config).',
      });
    const why = status ? `HTTP ${status} ${name}` : `${name}${e?.code ? ` ${e.code}` : ''}`;
    const attempts = (cause as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts;
    return new StorageError(
      StorageErrorCode.IO,
      `Could not ${what} in ${where}${attempts ? ` (gave up after ${attempts} attempts)` : ''}: ${why}: ${e?.message ?? String(cause)}.${orphan}`,
      {
        cause,
        hint: 'Check the network and the endpoint, then run the command again; nothing was committed by the failed step.',
        details: { key, ...(status ? { status } : {}) },
      },
    );
  }
}
