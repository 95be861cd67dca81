import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type {
  GetObjectCommandOutput,
  HeadObjectCommandOutput,
  ListMultipartUploadsCommandOutput,
  ListObjectsV2CommandOutput,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { assertValidKey, type BlobBody, type BlobInfo, type BlobStore, type PutOptions } from './blob-store.js';
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
  /**
   * A download whose body brings fewer bytes per second than this, over `socketTimeoutMs` of
   * waiting for it, fails and is resumed (default 1024; 0: no minimum): catches a trickle,
   * which keeps the socket busy and so never reaches the socket timeout.
   */
  minReadRate?: number;
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

/** Set by a client middleware on the error of the request that finally failed: `UploadPart (part 2)`, `GetObject`, … */
const OPERATION = Symbol('drkit.s3Operation');

/** The endpoint as shown in messages: never the user:password an endpoint URL may carry. */
function endpointText(endpoint: string | undefined, region: string | undefined): string {
  if (!endpoint) return `AWS S3${region ? ` (${region})` : ''}`;
  try {
    const u = new URL(endpoint);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return endpoint.replace(/\/\/[^/@]*@/, '//');
  }
}

/** What went wrong below S3's answer, or the answer itself, in words; and which hint fits. */
function describeCause(
  cause: unknown,
  socketTimeoutMs: number,
): { why: string; kind: 'network' | 'slow' | 'server' | 'other' } {
  // An AbortError wrapping the real failure (the SDK's "Request aborted") says less than what it wraps.
  let e = cause as { name?: string; message?: string; code?: string; cause?: unknown } | null;
  while (e?.name === 'AbortError' && e.cause) e = e.cause as typeof e;
  const status = statusOf(e);
  const message = e?.message ?? String(e);
  if (status !== undefined) {
    const code = e?.name && e.name !== 'Unknown' && e.name !== 'UnknownError' ? ` ${e.name}` : '';
    return {
      why: `HTTP ${status}${code}${message && message !== e?.name && message !== 'UnknownError' ? `: ${message}` : ''}`,
      kind: status >= 500 || status === 429 ? 'server' : 'other',
    };
  }
  const code = e?.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE') return { why: `the connection was reset (${code})`, kind: 'network' };
  if (code === 'ECONNREFUSED') return { why: `the connection was refused (${code})`, kind: 'network' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { why: `the host name does not resolve (${code})`, kind: 'network' };
  if (/without establishing a connection/i.test(message))
    return {
      why: `no connection could be made (${message.match(/within \d+ ?ms/)?.[0] ?? 'timeout'})`,
      kind: 'network',
    };
  if (e?.name === 'TimeoutError' || /timed out/i.test(message))
    return {
      why:
        `no data moved for ${message.match(/after (\d+) ?ms/)?.[1] ?? socketTimeoutMs} ms (socket timeout, ` +
        `DRKIT_S3_SOCKET_TIMEOUT_MS)`,
      kind: 'network',
    };
  if (e?.name === 'TruncatedResponse') return { why: message, kind: 'network' };
  if (e?.name === 'SlowResponse') return { why: message, kind: 'slow' };
  if (e?.name === 'AbortError') return { why: 'the request was aborted before S3 answered', kind: 'network' };
  return { why: `${e?.name ?? 'Error'}${code ? ` ${code}` : ''}: ${message}`, kind: 'other' };
}

/** S3 error codes that mean the credentials themselves are wrong, not their permissions. */
const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);

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
 * The chunks of `body`, failing with a SlowResponse when the time spent waiting for them adds
 * up to `windowMs` and they came at fewer than `minRate` bytes per second. Only waiting counts:
 * a consumer that is slow to ask for the next chunk (backpressure) is not the server's fault.
 */
async function* atLeast(body: Readable, minRate: number, windowMs: number): AsyncGenerator<Buffer> {
  if (minRate <= 0) {
    yield* body as AsyncIterable<Buffer>;
    return;
  }
  const chunks = body[Symbol.asyncIterator]();
  let waited = 0;
  let bytes = 0;
  for (;;) {
    const asked = performance.now();
    const next = await chunks.next();
    if (next.done) return;
    waited += performance.now() - asked;
    bytes += (next.value as Buffer).length;
    if (waited >= windowMs) {
      const rate = Math.floor((bytes * 1000) / waited);
      if (rate < minRate)
        throw Object.assign(
          new Error(
            `the body came at ${rate} B/s, below the minimum of ${minRate} B/s over ${Math.round(waited)} ms ` +
              `of waiting (DRKIT_S3_MIN_READ_RATE)`,
          ),
          { name: 'SlowResponse' },
        );
      waited = 0;
      bytes = 0;
    }
    yield next.value as Buffer;
  }
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
  private readonly socketTimeoutMs: number;
  private readonly minReadRate: number;
  /** Where requests go, for messages: the endpoint without credentials, and the bucket. */
  private readonly target: string;
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
    this.socketTimeoutMs = options.socketTimeoutMs ?? 60_000;
    this.minReadRate = options.minReadRate ?? 1024;
    this.target = `bucket "${this.bucket}" at ${endpointText(options.endpoint, options.region)}`;
    const custom = options.endpoint !== undefined;
    const checksums =
      (options.checksums ?? (custom ? 'when_required' : 'when_supported')) === 'when_required'
        ? 'WHEN_REQUIRED'
        : 'WHEN_SUPPORTED';
    const config: S3ClientConfig = {
      region: options.region ?? (custom ? 'us-east-1' : undefined),
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? custom,
      followRegionRedirects: true,
      maxAttempts: this.maxAttempts,
      retryMode: 'standard',
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
      requestHandler: { socketTimeout: this.socketTimeoutMs, connectionTimeout: options.connectionTimeoutMs ?? 10_000 },
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.client = new (aws().s3.S3Client)(config);
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          const input = args.input as { Key?: string; PartNumber?: number };
          if (context.commandName === 'UploadPartCommand') this.partFailed.get(input.Key ?? '')?.(err);
          // Which request finally failed (after the SDK's retries), for the error message.
          if (err !== null && typeof err === 'object' && !(OPERATION in err))
            Object.defineProperty(err, OPERATION, {
              value:
                `${(context.commandName ?? 'request').replace(/Command$/, '')}` +
                `${input.PartNumber ? ` (part ${input.PartNumber})` : ''}`,
            });
          throw err;
        }
      },
      { step: 'initialize', name: 'drkitFailedRequest' },
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

  async put(key: string, body: BlobBody, options: PutOptions = {}): Promise<BlobInfo> {
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
    const upload = new (aws().storage.Upload)({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key,
        Body: source,
        ContentType: options.contentType,
        CacheControl: options.cacheControl,
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: true,
    });
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
      throw this.error(`upload ${key}`, key, cause, { leftover });
    } finally {
      this.partFailed.delete(Key);
    }
  }

  /**
   * Aborts our multipart upload (and any other unfinished one
   * for this key we started); returns an error if some remain.
   */
  private async abortUploads(Key: string, uploadId: string | undefined, since: Date): Promise<unknown> {
    const ids = new Set<string>(uploadId ? [uploadId] : []);
    try {
      const listed: ListMultipartUploadsCommandOutput = await this.client.send(
        new (aws().s3.ListMultipartUploadsCommand)({ Bucket: this.bucket, Prefix: Key }),
      );
      for (const u of listed.Uploads ?? [])
        if (u.Key === Key && u.UploadId && (!u.Initiated || u.Initiated >= since)) ids.add(u.UploadId);
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
      throw this.error(`read ${key}`, key, err, { op: 'GetObject' });
    }
    const self = this;
    const total = first.ContentLength;
    const etag = first.ETag;
    const { minReadRate, socketTimeoutMs: windowMs } = this;
    // Bytes that count as progress: a response that brings them earns its retries back; a trickle never does.
    const useful = (minReadRate * windowMs) / 1000;
    // A response cut short (reset, stall, trickle) resumes where it stopped, from the same object version.
    async function* bytes(): AsyncGenerator<Buffer> {
      let res = first;
      let offset = 0;
      let attempt = 0;
      try {
        for (;;) {
          try {
            let got = 0;
            for await (const chunk of atLeast(res.Body as Readable, minReadRate, windowMs)) {
              offset += chunk.length;
              got += chunk.length;
              if (got >= useful) attempt = 0;
              yield chunk;
            }
            if (total !== undefined && offset < total)
              throw Object.assign(new Error(`the response ended after ${offset} of ${total} bytes`), {
                name: 'TruncatedResponse',
              });
            return;
          } catch (err) {
            (res.Body as Readable | undefined)?.destroy();
            if (++attempt >= self.maxAttempts || !isTransient(err))
              throw self.error(`read ${key}`, key, err, { op: 'GetObject (reading the body)', attempts: attempt });
            await sleep(backoffMs(attempt));
            try {
              res = await self.client.send(
                new (aws().s3.GetObjectCommand)({
                  Bucket: self.bucket,
                  Key,
                  Range: `bytes=${offset}-`,
                  ...(etag ? { IfMatch: etag } : {}),
                }),
              );
            } catch (again) {
              throw self.error(`read ${key}`, key, again, { op: 'GetObject' });
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
      const head: HeadObjectCommandOutput = await this.client.send(
        new (aws().s3.HeadObjectCommand)({ Bucket: this.bucket, Key }),
      );
      return { key, size: head.ContentLength ?? 0 };
    } catch (err) {
      if (statusOf(err) === 404 && (err as Error).name !== 'NoSuchBucket') return undefined;
      throw this.error(`stat ${key}`, key, err, { op: 'HeadObject' });
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const base = this.prefix ? `${this.prefix}/` : '';
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new (aws().s3.ListObjectsV2Command)({
            Bucket: this.bucket,
            Prefix: base + prefix,
            ContinuationToken: token,
            MaxKeys: this.listPageSize,
          }),
        );
      } catch (err) {
        throw this.error(`list ${prefix || '(everything)'}`, prefix, err, { op: 'ListObjectsV2' });
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
      throw this.error(`delete ${key}`, key, err, { op: 'DeleteObject' });
    }
  }

  /**
   * A StorageError that says what failed (the S3 request, key, bucket and endpoint), after how
   * many attempts, why, and what to do; never carries credentials.
   */
  private error(
    what: string,
    key: string,
    cause: unknown,
    more: { leftover?: unknown; op?: string; attempts?: number } = {},
  ): StorageError {
    if (cause instanceof StorageError) return cause;
    const e = cause as { name?: string; message?: string; $metadata?: { attempts?: number } } | null;
    const name = e?.name ?? 'Error';
    const status = statusOf(cause);
    const op = (cause as { [OPERATION]?: string } | null)?.[OPERATION] ?? more.op;
    const attempts = e?.$metadata?.attempts ?? more.attempts;
    const fullKey = this.prefix ? `${this.prefix}/${key}` : key;
    const request = `S3 ${op ? `${op} ` : ''}for ${fullKey || '(the bucket root)'} in ${this.target}`;
    const details = {
      key,
      ...(op ? { operation: op } : {}),
      ...(attempts ? { attempts } : {}),
      ...(status ? { status } : {}),
    };
    const orphan = more.leftover
      ? ` An unfinished multipart upload for ${key} may remain (aborting it ` +
        `failed: ${(more.leftover as Error).message}); a bucket lifecycle rule ` +
        `"AbortIncompleteMultipartUpload" removes such leftovers.`
      : '';
    if (name === 'NoSuchKey' || (status === 404 && name !== 'NoSuchBucket' && what.startsWith('read')))
      return new StorageError(StorageErrorCode.NOT_FOUND, `${key} does not exist in ${this.location}.`, {
        cause,
        hint: 'Check the repository location, or run verify to see what is missing.',
        details,
      });
    if (name === 'NoSuchBucket')
      return new StorageError(StorageErrorCode.NO_BUCKET, `The bucket "${this.bucket}" does not exist (${request}).`, {
        cause,
        hint:
          `Create it first (e.g. \`aws s3 mb s3://${this.bucket}\`), or check the bucket name and endpoint in ` +
          `the repository URL.`,
        details,
      });
    if (
      name === 'CredentialsProviderError' ||
      (/Could not load credentials|credential/i.test(e?.message ?? '') && status === undefined)
    )
      return new StorageError(
        StorageErrorCode.NO_CREDENTIALS,
        `No AWS credentials were found to ${what} (${request}).`,
        {
          cause,
          hint:
            'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or access_key_id / ' +
            'secret_access_key in the config).',
          details,
        },
      );
    if (CREDENTIAL_ERRORS.has(name))
      return new StorageError(
        StorageErrorCode.ACCESS_DENIED,
        `The credentials were refused: ${request} answered HTTP ${status ?? 403} ${name}.${orphan}`,
        {
          cause,
          hint:
            'Check the access key and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the ' +
            'config), and that a session token has not expired.',
          details,
        },
      );
    if (status === 403 || name === 'AccessDenied')
      return new StorageError(
        StorageErrorCode.ACCESS_DENIED,
        `Access denied: could not ${what}: ${request} answered HTTP ` +
          `403${name === 'AccessDenied' ? ' AccessDenied' : ''}.${orphan}`,
        {
          cause,
          hint:
            `The credentials were accepted but may not do this: allow s3:GetObject, s3:PutObject, ` +
            `s3:DeleteObject, s3:ListBucket and s3:AbortMultipartUpload on ` +
            `bucket ${this.bucket}${this.prefix ? ` under ${this.prefix}/` : ''}.`,
          details,
        },
      );
    if (/Region is missing/i.test(e?.message ?? ''))
      return new StorageError(StorageErrorCode.BAD_LOCATION, `No AWS region is configured for ${this.location}.`, {
        cause,
        hint: 'Set AWS_REGION (or region: in the repository config).',
      });
    const { why, kind } = describeCause(cause, this.socketTimeoutMs);
    const tries = attempts ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : '';
    const again = 'then run the command again; nothing was committed by the failed step.';
    const hint =
      kind === 'network'
        ? `Check the network path to the endpoint (DNS, firewall, proxy) and that the server is up, ${again} ` +
          `On a slow link, raise DRKIT_S3_SOCKET_TIMEOUT_MS (now ${this.socketTimeoutMs}) or DRKIT_S3_MAX_ATTEMPTS.`
        : kind === 'slow'
          ? `The server sends the data too slowly to finish (a congested link or an overloaded server): ${again} ` +
            `On a link that is this slow, lower DRKIT_S3_MIN_READ_RATE (now ${this.minReadRate} B/s; 0 turns the ` +
            `minimum off) or raise DRKIT_S3_SOCKET_TIMEOUT_MS (now ${this.socketTimeoutMs}, the window it is ` +
            'measured over).'
          : kind === 'server'
            ? `The server failed or throttled the request: wait a while, or raise DRKIT_S3_MAX_ATTEMPTS, ${again}`
            : `Check the endpoint and the bucket, ${again}`;
    return new StorageError(StorageErrorCode.IO, `Could not ${what}: ${request} failed${tries}: ${why}.${orphan}`, {
      cause,
      hint,
      details,
    });
  }
}
