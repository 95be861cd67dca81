import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  blobStoreContract,
  MIN_PART_SIZE,
  parseRepoLocation,
  S3Store,
  type S3StoreOptions,
  StorageErrorCode,
} from '@drkit/storage';
// Relative on purpose: @drkit/test-support depends on repository → storage, so storage cannot depend on it.
import { type Fault, type FaultProxy, startFaultProxy } from '../../test-support/src/fault-proxy.js';
import { type RunningS3, S3_TEST_CREDENTIALS, startS3Server } from '../../test-support/src/s3-server.js';

const BUCKET = 'drkit-test';
let s3: RunningS3;
let n = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
}, 60_000);
afterAll(() => s3?.stop());

const options = (endpoint: string, extra: Partial<S3StoreOptions> = {}): S3StoreOptions => ({
  bucket: BUCKET,
  prefix: `t${++n}/repo`,
  endpoint,
  credentials: S3_TEST_CREDENTIALS,
  partSize: MIN_PART_SIZE,
  listPageSize: 2,
  ...extra,
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function chunked(data: Buffer, size = 1 << 20): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}

// Pages of 2 keys make `list` follow continuation tokens; 5 MiB parts make the large blob 3 parts.
blobStoreContract(
  { describe, it, beforeEach, afterEach },
  'S3Store (moto, multipart, paginated list)',
  async () => ({ store: new S3Store(options(s3.endpoint)) }),
  {
    largeSize: 2 * MIN_PART_SIZE + 1234567,
  },
);

describe('S3Store as a web origin', () => {
  it(
    'stores the content type and cache control a put asks ' + 'for, so a bucket served as a website shows the page',
    async () => {
      const o = options(s3.endpoint);
      const store = new S3Store(o);
      await store.put('index.html', Buffer.from('<!doctype html>'), {
        contentType: 'text/html; charset=utf-8',
        cacheControl: 'public, max-age=60',
      });
      await store.put('big.html', chunked(Buffer.alloc(MIN_PART_SIZE + 1, 'x')), {
        contentType: 'text/html; charset=utf-8',
      });
      await store.put('plain', Buffer.from('x'));
      const page = await s3.objectHeaders(BUCKET, `${o.prefix}/index.html`);
      expect([page.get('content-type'), page.get('cache-control')]).toEqual([
        'text/html; charset=utf-8',
        'public, max-age=60',
      ]);
      expect((await s3.objectHeaders(BUCKET, `${o.prefix}/big.html`)).get('content-type')).toBe(
        'text/html; charset=utf-8',
      );
      expect((await s3.objectHeaders(BUCKET, `${o.prefix}/plain`)).get('content-type')).not.toMatch(/html/);
    },
  );
});

describe('S3Store behind a fault-injecting proxy', () => {
  let proxy: FaultProxy;
  beforeEach(async () => {
    proxy = await startFaultProxy(s3.endpoint);
  });
  afterEach(() => proxy.stop());

  it('retries through resets, 500s, 503s and a stalled part, and stores every byte', async () => {
    const store = new S3Store(options(proxy.endpoint, { socketTimeoutMs: 1500, maxAttempts: 5 }));
    const seen = new Map<string, number>();
    proxy.setFaults((r) => {
      const k = `${r.op}:${r.query.get('partNumber') ?? ''}`;
      const count = (seen.get(k) ?? 0) + 1;
      seen.set(k, count);
      if (count > 1) return undefined;
      if (r.op === 'CreateMultipartUpload') return { kind: 'reset' };
      if (k === 'UploadPart:1') return { kind: 'status', status: 500 };
      if (k === 'UploadPart:2') return { kind: 'reset-after', bytes: 1 << 20 };
      if (k === 'UploadPart:3') return { kind: 'stall', afterBytes: 2 << 20 };
      if (r.op === 'CompleteMultipartUpload') return { kind: 'status', status: 503 };
      return undefined;
    });
    const data = randomBytes(2 * MIN_PART_SIZE + 777);
    await store.put('data/big.bin', chunked(data));
    proxy.setFaults(undefined);
    expect(sha(await readAll(await store.get('data/big.bin')))).toBe(sha(data));
    const faulted = proxy.log.filter((r) => r.fault).map((r) => `${r.op}:${r.fault}`);
    expect(faulted.sort()).toEqual([
      'CompleteMultipartUpload:status',
      'CreateMultipartUpload:reset',
      'UploadPart:reset-after',
      'UploadPart:stall',
      'UploadPart:status',
    ]);
    // Each faulted request was sent again and then succeeded.
    for (const k of [
      'UploadPart:1',
      'UploadPart:2',
      'UploadPart:3',
      'CreateMultipartUpload:',
      'CompleteMultipartUpload:',
    ])
      expect(seen.get(k), k).toBeGreaterThanOrEqual(2);
    expect(await s3.unfinishedUploads(BUCKET)).toEqual([]);
  }, 60_000);

  it('resumes a download cut or stalled mid-way from where it stopped', async () => {
    const store = new S3Store(options(proxy.endpoint, { socketTimeoutMs: 1500 }));
    const data = randomBytes(3 << 20);
    await store.put('blob', data);
    let gets = 0;
    proxy.setFaults((r) => {
      if (r.op !== 'GetObject') return undefined;
      gets++;
      if (gets === 1) return { kind: 'cut-response', bytes: 1 << 20 };
      if (gets === 2) return { kind: 'stall-response', bytes: 1 << 20 };
      return undefined;
    });
    expect(sha(await readAll(await store.get('blob')))).toBe(sha(data));
    expect(gets).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('fails a download whose body trickles (never idle, never done) with the storage error and a hint', async () => {
    // A byte every 100 ms keeps the socket busy: only the minimum rate (default 1 KiB/s) over a window notices.
    const store = new S3Store(options(proxy.endpoint, { socketTimeoutMs: 1000, maxAttempts: 2 }));
    await store.put('blob', randomBytes(64 << 10));
    proxy.setFaults((r) => (r.op === 'GetObject' ? { kind: 'trickle-response', everyMs: 100 } : undefined));
    const err = await readAll(await store.get('blob')).then(
      () => expect.unreachable('the trickle was read to the end'),
      (e: unknown) => e as { code: string; message: string; hint: string },
    );
    expect(err.code).toBe(StorageErrorCode.IO);
    expect(err.message).toMatch(/S3 GetObject \(reading the body\) for t\d+\/repo\/blob .* failed after 2 attempts/);
    expect(err.message).toMatch(/: the body came at \d+ B\/s, below the minimum of 1024 B\/s over \d+ ms of waiting/);
    expect(err.hint).toMatch(/lower DRKIT_S3_MIN_READ_RATE \(now 1024 B\/s/);
    // The second attempt asked for the rest, from where the first stopped.
    expect(proxy.log.filter((r) => r.op === 'GetObject')).toHaveLength(2);
  }, 30_000);

  it('reads a slow but steady download to the end', async () => {
    const store = new S3Store(options(proxy.endpoint, { socketTimeoutMs: 1000, minReadRate: 64 << 10 }));
    const data = randomBytes(2 << 20);
    await store.put('blob', data);
    // 32 KiB every 50 ms: ~640 KiB/s, ten times the minimum.
    proxy.setFaults((r) =>
      r.op === 'GetObject' ? { kind: 'trickle-response', everyMs: 50, bytes: 32 << 10 } : undefined,
    );
    expect(sha(await readAll(await store.get('blob')))).toBe(sha(data));
    expect(proxy.log.filter((r) => r.op === 'GetObject')).toHaveLength(1);
  }, 30_000);

  it('after the last attempt fails: the put rejects, no ' +
    'object is visible and no multipart upload is left', async () => {
    const store = new S3Store(options(proxy.endpoint, { maxAttempts: 3 }));
    let aborts = 0;
    proxy.setFaults((r) => {
      if (r.op === 'UploadPart' && r.query.get('partNumber') === '2') return { kind: 'status', status: 500 };
      // The first abort fails too: drkit must try it again rather than leave the parts behind.
      if (r.op === 'AbortMultipartUpload' && ++aborts === 1) return { kind: 'reset' };
      return undefined;
    });
    const data = randomBytes(3 * MIN_PART_SIZE);
    const err = await store.put('data/doomed.bin', chunked(data)).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string; hint?: string },
    );
    expect(err?.code).toBe(StorageErrorCode.IO);
    expect(err?.message).toContain('data/doomed.bin');
    expect(err?.message).toContain('HTTP 500');
    expect(err?.message).not.toContain(S3_TEST_CREDENTIALS.secretAccessKey);
    proxy.setFaults(undefined);
    expect(proxy.log.filter((r) => r.op === 'UploadPart' && r.query.get('partNumber') === '2')).toHaveLength(3);
    expect(aborts).toBeGreaterThanOrEqual(2);
    expect(await store.stat('data/doomed.bin')).toBeUndefined();
    expect(await s3.unfinishedUploads(BUCKET)).toEqual([]);
    // The failure stopped the upload: not every part of the body was sent.
    expect(
      proxy.log.filter((r) => r.op === 'UploadPart' && r.query.get('partNumber') === '3').length,
    ).toBeLessThanOrEqual(1);
  }, 60_000);

  /** The StorageError a failing call rejects with. */
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.unreachable('it succeeded'),
      (e: unknown) => e as { code: string; message: string; hint: string; details: Record<string, unknown> },
    );

  it('a failure names the S3 request, key, bucket, endpoint, attempts and the cause in words, with a hint for ' +
    'its kind', async () => {
    const o = options(proxy.endpoint, { socketTimeoutMs: 400, maxAttempts: 2 });
    const store = new S3Store(o);
    const where = `in bucket "${BUCKET}" at ${proxy.endpoint}`;
    await store.put('present', Buffer.from('x'));
    const cases: Array<
      [string, (r: { op: string; query: URLSearchParams }) => Fault | undefined, () => Promise<unknown>, RegExp, RegExp]
    > = [
      [
        'stalled PutObject',
        (r) => (r.op === 'PutObject' ? { kind: 'stall' } : undefined),
        () => store.put('small', Buffer.from('x')),
        /S3 PutObject for t\d+\/repo\/small .* failed after 2 attempts: no data moved for 400 ms \(socket timeout/,
        /network.*DRKIT_S3_SOCKET_TIMEOUT_MS \(now 400\)/,
      ],
      [
        'reset multipart part 2',
        (r) => (r.op === 'UploadPart' && r.query.get('partNumber') === '2' ? { kind: 'reset' } : undefined),
        () => store.put('big', chunked(randomBytes(2 * MIN_PART_SIZE))),
        // long-line: a regex over the whole message, as the user reads it
        /S3 UploadPart \(part 2\) for t\d+\/repo\/big .* failed after 2 attempts: the connection was reset \(E(CONNRESET|PIPE)\)/,
        /network/,
      ],
      [
        'reset GetObject',
        (r) => (r.op === 'GetObject' ? { kind: 'reset' } : undefined),
        () => store.get('present'),
        /S3 GetObject for t\d+\/repo\/present .* failed after 2 attempts: the connection was reset \(ECONNRESET\)/,
        /network/,
      ],
      [
        'throttled ListObjectsV2',
        (r) => (r.op === 'ListObjectsV2' ? { kind: 'status', status: 503 } : undefined),
        async () => {
          for await (const _ of store.list('data/'));
        },
        /S3 ListObjectsV2 for t\d+\/repo\/data\/ .* failed after 2 attempts: HTTP 503 SlowDown/,
        /throttled/,
      ],
    ];
    for (const [label, fault, call, message, hint] of cases) {
      proxy.setFaults(fault);
      const err = await failure(call());
      expect(err.code, label).toBe(StorageErrorCode.IO);
      expect(err.message, label).toMatch(message);
      expect(err.message, label).toContain(where);
      expect(err.message, label).not.toMatch(/operation was aborted|TimeoutError/);
      expect(err.hint, label).toMatch(hint);
    }
    proxy.setFaults(undefined);
  }, 60_000);

  it('tells refused credentials from missing permissions', async () => {
    const store = new S3Store(options(proxy.endpoint));
    proxy.setFaults((r) => (r.op === 'PutObject' ? { kind: 'status', status: 403, code: 'AccessDenied' } : undefined));
    const denied = await failure(store.put('x', Buffer.from('x')));
    expect(denied.code).toBe(StorageErrorCode.ACCESS_DENIED);
    expect(denied.message).toMatch(/S3 PutObject for t\d+\/repo\/x in bucket .* answered HTTP 403 AccessDenied/);
    expect(denied.hint).toMatch(/accepted but may not do this: allow s3:GetObject/);
    proxy.setFaults((r) =>
      r.op === 'HeadObject'
        ? { kind: 'status', status: 403, code: 'InvalidAccessKeyId' }
        : r.op === 'PutObject'
          ? { kind: 'status', status: 403, code: 'InvalidAccessKeyId' }
          : undefined,
    );
    const refused = await failure(store.put('x', Buffer.from('x')));
    expect(refused.message).toMatch(
      /The credentials were refused: S3 PutObject .* answered HTTP 403 InvalidAccessKeyId/,
    );
    expect(refused.hint).toMatch(/AWS_ACCESS_KEY_ID/);
    proxy.setFaults(undefined);
  });

  it('names a missing bucket with a fix', async () => {
    const store = new S3Store({ ...options(s3.endpoint), bucket: 'no-such-bucket' });
    await expect(store.put('x', Buffer.from('x'))).rejects.toMatchObject({
      code: StorageErrorCode.NO_BUCKET,
      hint: expect.stringContaining('aws s3 mb s3://no-such-bucket'),
    });
  });
});

describe('repository locations', () => {
  it('parses s3:// with the AWS environment, restic-style s3:http://, file:// and folder paths', () => {
    expect(
      parseRepoLocation('s3://bkt/some/prefix', {
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
        AWS_ENDPOINT_URL: 'http://other',
        AWS_REGION: 'eu-west-1',
      }),
    ).toEqual({
      kind: 's3',
      s3: { bucket: 'bkt', prefix: 'some/prefix', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1' },
    });
    expect(parseRepoLocation('s3://bkt', { AWS_ENDPOINT_URL: 'http://other:1' })).toEqual({
      kind: 's3',
      s3: { bucket: 'bkt', prefix: '', endpoint: 'http://other:1' },
    });
    expect(parseRepoLocation('s3://bkt/p', {})).toEqual({ kind: 's3', s3: { bucket: 'bkt', prefix: 'p' } });
    expect(parseRepoLocation('s3:http://127.0.0.1:9000/bkt/a/b', {})).toEqual({
      kind: 's3',
      s3: { bucket: 'bkt', prefix: 'a/b', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
    });
    expect(parseRepoLocation('s3:s3.example.com/bkt', {})).toMatchObject({
      kind: 's3',
      s3: { endpoint: 'https://s3.example.com', bucket: 'bkt' },
    });
    expect(parseRepoLocation('file:///var/backups/x', {})).toEqual({ kind: 'local', path: '/var/backups/x' });
    expect(parseRepoLocation('/var/backups/x', {})).toEqual({ kind: 'local', path: '/var/backups/x' });
    expect(() => parseRepoLocation('sftp:host:/x', {})).toThrow(
      expect.objectContaining({ code: StorageErrorCode.BAD_LOCATION }),
    );
    expect(() => parseRepoLocation('s3://', {})).toThrow(
      expect.objectContaining({ code: StorageErrorCode.BAD_LOCATION }),
    );
  });

  it('shows locations without credentials', () => {
    const store = new S3Store({
      bucket: 'bkt',
      prefix: 'p',
      endpoint: 'http://127.0.0.1:9000',
      credentials: S3_TEST_CREDENTIALS,
    });
    expect(store.location).toBe('s3:http://127.0.0.1:9000/bkt/p');
    expect(new S3Store({ bucket: 'bkt', prefix: 'p/q/', region: 'eu-west-1' }).location).toBe('s3://bkt/p/q');
  });
});
