// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs use ${VAR} on purpose
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  describeTree,
  type FaultProxy,
  makeSampleTree,
  type RunningRedis,
  type RunningS3,
  S3_TEST_CREDENTIALS,
  startFaultProxy,
  startRedis,
  startS3Server,
  tempDir,
} from '@drkit/test-support';
import { type CliResult, drkit, MAIN } from './cli.js';
import { encodeMetadata, encryptBuffer } from '@drkit/repository';
import { formatTransfer } from '../src/progress.js';

const BUCKET = 'drkit-cli';
const MARKER = 'MARKER-c0ffee-must-never-be-stored-in-clear';
const PASSPHRASE = 'correct horse battery staple';
let s3: RunningS3;
let dir: string;
let cleanup: () => Promise<void>;
let tree: string;
let n = 0;
let outputs: string[];

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
}, 60_000);
afterAll(() => s3?.stop());
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  tree = path.join(dir, 'tree');
  await makeSampleTree(tree);
  await writeFile(path.join(tree, 'data/marker.txt'), `${MARKER}\n`.repeat(1000));
  outputs = [];
});
afterEach(async () => {
  // Secrets never reach a log, an error or --json output, in any test of this file.
  for (const o of outputs) {
    expect(o).not.toContain(S3_TEST_CREDENTIALS.secretAccessKey);
    expect(o).not.toContain('AGE-SECRET-KEY-');
    expect(o).not.toContain(PASSPHRASE);
  }
  await cleanup();
});

const AWS = {
  AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-east-1',
};
const json = (s: string) => JSON.parse(s);
const prefix = () => `p${++n}-${randomBytes(3).toString('hex')}`;
/** restic-style URL of a fresh prefix on the test server. */
const s3url = (p: string, endpoint = s3.endpoint) => `s3:${endpoint}/${BUCKET}/${p}`;

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const r = await drkit(args, { env: { ...AWS, ...env }, cwd: dir });
  outputs.push(r.stdout, r.stderr);
  return r;
}

async function bucketHolds(p: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const key of await s3.listKeys(BUCKET, `${p}/`))
    if ((await s3.getObject(BUCKET, key)).includes(needle)) hits.push(key);
  return hits;
}

describe('drkit with an S3 repository', () => {
  it(
    'backs up, verifies and restores through S3 (restic-style URL, path-style), identical in content, mode ' +
      'and mtime',
    async () => {
      const repo = s3url(prefix());
      expect((await run(['init', '--repo', repo])).code).toBe(0);
      const b = await run(['backup', tree, '--repo', repo, '--json']);
      expect(b.code, b.stderr).toBe(0);
      const { id } = json(b.stdout);
      expect(
        json((await run(['snapshots', '--json'], { DRKIT_REPO: repo })).stdout).map((s: { id: string }) => s.id),
      ).toEqual([id]);
      const v = await run(['verify', 'latest', '--repo', repo, '--json']);
      expect(v.code).toBe(0);
      expect(json(v.stdout)).toMatchObject({ ok: true, snapshots: [{ contentChecked: true }] });
      const target = path.join(dir, 'restored');
      const r = await run(['restore', id, '--target', target, '--repo', repo]);
      expect(r.code, r.stderr).toBe(0);
      expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
    },
  );

  it(
    'encrypted, addressed as s3://bucket/prefix with AWS_ENDPOINT_URL_S3: backup needs no key, restore needs ' +
      'the identity, the bucket holds no plaintext',
    async () => {
      const p = prefix();
      const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, DRKIT_REPO: `s3://${BUCKET}/${p}` };
      const keyFile = path.join(dir, 'key.txt');
      const init = await run(['init', '--generate-key', keyFile], env);
      expect(init.code, init.stderr).toBe(0);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      expect(init.stderr).toMatch(/Keep a copy of .*key\.txt OFF this machine/);
      const recipient = /public key is (age1[a-z0-9]+)/.exec(init.stdout)![1]!;

      const b = await run(['backup', tree, '--json'], env);
      expect(b.code, b.stderr).toBe(0);
      const { id } = json(b.stdout);
      expect(await bucketHolds(p, MARKER)).toEqual([]);
      expect(await bucketHolds(p, 'marker.txt')).toEqual([]);
      const keys = await s3.listKeys(BUCKET, `${p}/data/`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k) => k.endsWith('.age'))).toBe(true);
      const meta = json((await s3.getObject(BUCKET, `${p}/snapshots/${id}.json`)).toString());
      expect(meta.encryption).toEqual({ type: 'age', recipients: [recipient] });
      // The next backup needs no key either: an incremental, from this host's own file list.
      const again = await run(['backup', tree, '--json'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(json(again.stdout)).toMatchObject({ kind: 'incremental', parent: id, read: { files: 0 } });

      // Without the identity: verify proves every stored blob, and says it could not read contents.
      const v = await run(['verify', 'latest', '--json'], env);
      expect(v.code).toBe(0);
      expect(json(v.stdout).snapshots[0]).toMatchObject({ ok: true, contentChecked: false });
      const human = await run(['verify', 'latest'], env);
      expect(human.stdout).toContain('contents not checked');

      const target = path.join(dir, 'restored');
      const denied = await run(['restore', id, '--target', target, '--json'], env);
      expect(denied.code).toBe(1);
      expect(json(denied.stdout).error).toMatchObject({
        code: 'REPO_IDENTITY_REQUIRED',
        message: expect.stringContaining(recipient),
        hint: expect.stringContaining('--identity'),
      });
      await expect(stat(target)).rejects.toThrow();

      const otherKey = path.join(dir, 'other.txt');
      execFileSync('age-keygen', ['-o', otherKey], { stdio: 'ignore' });
      const wrong = await run(['restore', id, '--target', target, '--identity', otherKey], env);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('REPO_WRONG_IDENTITY');
      expect(wrong.stderr).toContain(recipient);

      const ok = await run(['restore', id, '--target', target], { ...env, DRKIT_IDENTITY_FILE: keyFile });
      expect(ok.code, ok.stderr).toBe(0);
      expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
      expect((await run(['verify', 'latest', '--json', '--identity', keyFile], env)).stdout).toContain(
        '"contentChecked": true',
      );
    },
  );

  it(
    "an encrypted archive decrypts with Debian's age and extracts with tar; an archive age encrypted reads " +
      'back in drkit',
    async () => {
      const repo = path.join(dir, 'repo');
      const keyFile = path.join(dir, 'key.txt');
      await run(['init', '--repo', repo, '--generate-key', keyFile, '--compression', 'gzip']);
      // An existing key file is never overwritten, and no repository is made without its key.
      const keyText = await readFile(keyFile, 'utf8');
      const again = await run(['init', '--repo', path.join(dir, 'other'), '--generate-key', keyFile, '--json']);
      expect(again.code).toBe(1);
      expect(json(again.stdout).error).toMatchObject({
        code: 'CLI_KEY_FILE',
        message: expect.stringContaining('the file exists'),
      });
      expect(await readFile(keyFile, 'utf8')).toBe(keyText);
      await expect(stat(path.join(dir, 'other', 'config.json'))).rejects.toThrow();

      const { id } = json((await run(['backup', tree, '--repo', repo, '--json'])).stdout);
      const metaFile = path.join(repo, 'snapshots', `${id}.json`);
      const meta = json(await readFile(metaFile, 'utf8'));
      const src = meta.sources[0];
      expect(src.archive.key).toMatch(/\.tar\.gz\.age$/);
      const out = path.join(dir, 'by-age');
      await mkdir(out);
      execFileSync('sh', [
        '-c',
        'age -d -i "$1" "$2" | tar -xzf - -C "$3"',
        'sh',
        keyFile,
        path.join(repo, src.archive.key),
        out,
      ]);
      expect((await describeTree(out)).filter((e) => e.type === 'file').map((e) => [e.path, e.sha256])).toEqual(
        (await describeTree(tree)).filter((e) => e.type === 'file').map((e) => [e.path, e.sha256]),
      );

      // Re-encrypt both blobs with the age CLI, as an operator might, and point the metadata at them.
      const recipient = json(await readFile(path.join(repo, 'config.json'), 'utf8')).encryption.recipients[0];
      for (const ref of [src.archive, src.index]) {
        const file = path.join(repo, ref.key);
        const plain = execFileSync('age', ['-d', '-i', keyFile, file]);
        const sealed = execFileSync('age', ['-r', recipient], { input: plain });
        await writeFile(file, sealed);
        Object.assign(ref, { size: sealed.length, sha256: createHash('sha256').update(sealed).digest('hex') });
      }
      await writeFile(metaFile, encodeMetadata(meta)); // an edit: its checksum updated too
      const target = path.join(dir, 'restored');
      const r = await run(['restore', id, '--target', target, '--repo', repo, '--identity', keyFile]);
      expect(r.code, r.stderr).toBe(0);
      expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
    },
  );

  it("makes incrementals on an encrypted repository without the identity, from this host's cache", async () => {
    const repo = path.join(dir, 'repo');
    const keyFile = path.join(dir, 'key.txt');
    const cache = path.join(dir, 'cache');
    await run(['init', '--repo', repo, '--generate-key', keyFile]);
    const backup = async (...extra: string[]) =>
      json((await run(['backup', tree, '--repo', repo, '--json', '--cache-dir', cache, ...extra])).stdout);
    const first = await backup();
    await writeFile(path.join(tree, 'added.txt'), 'new since the first backup');
    const second = await backup();
    expect(second).toMatchObject({ kind: 'incremental', parent: first.id, read: { files: 1 } });
    expect(await backup('--no-cache')).toMatchObject({
      kind: 'full',
      chain: expect.stringContaining('cache has no file list'),
    });
    const target = path.join(dir, 'restored');
    const r = await run(['restore', second.id, '--target', target, '--repo', repo, '--identity', keyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
  });

  it('find, dump, stats, forget by id and key add on an encrypted S3 repository', async () => {
    const repo = s3url(prefix());
    const keyFile = path.join(dir, 'key.txt');
    await run(['init', '--repo', repo, '--generate-key', keyFile]);
    const backup = async () =>
      json((await run(['backup', tree, '--repo', repo, '--json', '--cache-dir', path.join(dir, 'cache')])).stdout);
    const first = await backup();
    await writeFile(path.join(tree, 'config/app.json'), '{"port": 4000}\n');
    const second = await backup();
    expect(second).toMatchObject({ kind: 'incremental', files: { new: 0, changed: 1 } });
    const key = ['--identity', keyFile];
    const hits = json((await run(['find', 'app.json', '--repo', repo, '--json', ...key])).stdout);
    expect(hits.map((h: { snapshot: string; size: number }) => [h.snapshot, h.size])).toEqual([
      [second.id, 15],
      [first.id, 15],
    ]);
    expect((await run(['dump', first.id, 'tree/config/app.json', '--repo', repo, ...key])).stdout).toBe(
      '{"port": 3000}\n',
    );
    expect((await run(['dump', second.id, 'tree/data/marker.txt', '--repo', repo, ...key])).stdout).toBe(
      `${MARKER}\n`.repeat(1000),
    );
    const stats = json((await run(['stats', '--repo', repo, '--json'])).stdout);
    expect(stats).toMatchObject({ snapshots: 2, chains: { count: 1, longest: 2 }, prunable: { bytes: 0 } });
    expect(json((await run(['forget', first.id, '--repo', repo, '--json'])).stdout).error.code).toBe(
      'BACKUP_FORGET_HAS_DEPENDENTS',
    );
    expect(json((await run(['forget', second.id, '--prune', '--repo', repo, '--json'])).stdout).removed).toEqual([
      second.id,
    ]);
    const generated = json(
      (await run(['init', '--repo', path.join(dir, 'scratch'), '--generate-key', path.join(dir, 'key2.txt'), '--json']))
        .stdout,
    ).encryption.recipients[0];
    expect(json((await run(['key', 'add', generated, '--repo', repo, '--json'])).stdout).recipients).toHaveLength(2);
  });

  it('with a passphrase: backs up without it, restores with DRKIT_PASSPHRASE, asks for it otherwise', async () => {
    const repo = s3url(prefix());
    const init = await run(['init', '--repo', repo, '--passphrase', '--json'], { DRKIT_PASSPHRASE: PASSPHRASE });
    expect(init.code, init.stderr).toBe(0);
    expect(json(init.stdout).encryption).toMatchObject({ type: 'age', passphrase: true });
    const { id } = json((await run(['backup', tree, '--repo', repo, '--json'])).stdout);
    const target = path.join(dir, 'restored');
    const denied = await run(['restore', id, '--target', target, '--repo', repo]);
    expect(denied.stderr).toContain('REPO_IDENTITY_REQUIRED');
    const wrong = await run(['restore', id, '--target', target, '--repo', repo], { DRKIT_PASSPHRASE: 'wrong' });
    expect(wrong.stderr).toContain('REPO_WRONG_PASSPHRASE');
    const ok = await run(['restore', id, '--target', target, '--repo', repo], { DRKIT_PASSPHRASE: PASSPHRASE });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
  });

  it('reads an identity file that is itself passphrase-protected (age -p), as age does', async () => {
    const repo = path.join(dir, 'repo');
    const keyFile = path.join(dir, 'key.txt');
    await run(['init', '--repo', repo, '--generate-key', keyFile]);
    const { id } = json((await run(['backup', tree, '--repo', repo, '--json'])).stdout);
    const protectedKey = path.join(dir, 'key.txt.age');
    await writeFile(
      protectedKey,
      await encryptBuffer(await readFile(keyFile), [{ type: 'scrypt', passphrase: PASSPHRASE, logN: 12 }]),
    );
    const target = path.join(dir, 'restored');
    const noPass = await run(['restore', id, '--target', target, '--repo', repo, '--identity', protectedKey]);
    expect(noPass.code).toBe(1);
    expect(noPass.stderr).toContain('CLI_NO_PASSPHRASE');
    const ok = await run(['restore', id, '--target', target, '--repo', repo, '--identity', protectedKey], {
      DRKIT_PASSPHRASE: PASSPHRASE,
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));
  });

  it('reads the repository from config fields with ${ENV} credentials', async () => {
    const p = prefix();
    const cfg = path.join(dir, 'drkit.config.yaml');
    await writeFile(
      cfg,
      [
        'repository:',
        `  bucket: ${BUCKET}`,
        `  prefix: ${p}`,
        `  endpoint: ${s3.endpoint}`,
        '  access_key_id: ${KEY_ID}',
        '  secret_access_key: ${SECRET}',
        'sources:',
        '  - { name: config, type: files, path: ./tree/config }',
        '',
      ].join('\n'),
    );
    const env = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      SECRET: S3_TEST_CREDENTIALS.secretAccessKey,
    };
    expect((await run(['init'], env)).code).toBe(0);
    const b = await run(['backup', '--json'], env);
    expect(b.code, b.stderr).toBe(0);
    expect((await s3.listKeys(BUCKET, `${p}/snapshots/`)).length).toBe(1);
  });
});

describe('S3 faults through a real proxy', () => {
  let proxy: FaultProxy;
  beforeEach(async () => {
    proxy = await startFaultProxy(s3.endpoint);
    await writeFile(path.join(tree, 'media/big.bin'), randomBytes(11 << 20));
  });
  afterEach(() => proxy.stop());
  // 5 MiB parts make big.bin's archive a multipart upload of 3 parts; short timeouts keep stalls quick.
  const tuning = { DRKIT_S3_PART_SIZE_MIB: '5', DRKIT_S3_SOCKET_TIMEOUT_MS: '1500' };

  it('a backup succeeds through resets, 500s and a stalled part, and verifies', async () => {
    const p = prefix();
    const repo = s3url(p, proxy.endpoint);
    expect((await run(['init', '--repo', repo], tuning)).code).toBe(0);
    const seen = new Map<string, number>();
    proxy.setFaults((r) => {
      const k = `${r.op}:${r.query.get('partNumber') ?? ''}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      if (seen.get(k)! > 1) return undefined;
      if (k === 'UploadPart:1') return { kind: 'status', status: 500 };
      if (k === 'UploadPart:2') return { kind: 'reset-after', bytes: 1 << 20 };
      if (k === 'UploadPart:3') return { kind: 'stall', afterBytes: 1 << 20 };
      if (r.op === 'CreateMultipartUpload') return { kind: 'reset' };
      return undefined;
    });
    const b = await run(['backup', tree, '--repo', repo, '--json'], tuning);
    expect(b.code, b.stderr).toBe(0);
    expect(
      proxy.log
        .filter((r) => r.fault)
        .map((r) => r.fault)
        .sort(),
    ).toEqual(['reset', 'reset-after', 'stall', 'status']);
    proxy.setFaults(undefined);
    expect((await run(['verify', 'latest', '--repo', repo], tuning)).code).toBe(0);
    expect(await s3.unfinishedUploads(BUCKET)).toEqual([]);
  }, 90_000);

  it('a backup whose upload keeps failing exits 1, lists ' +
    'no snapshot and leaves no unfinished multipart upload', async () => {
    const p = prefix();
    const repo = s3url(p, proxy.endpoint);
    expect((await run(['init', '--repo', repo])).code).toBe(0);
    const before = json((await run(['backup', path.join(tree, 'config'), '--repo', repo, '--json'])).stdout).id;
    proxy.setFaults((r) =>
      r.op === 'UploadPart' && r.query.get('partNumber') === '2' ? { kind: 'status', status: 500 } : undefined,
    );
    const b = await run(['backup', tree, '--repo', repo, '--json'], { ...tuning, DRKIT_S3_MAX_ATTEMPTS: '3' });
    expect(b.code).toBe(1);
    const err = json(b.stdout).error;
    // The request, key, bucket, endpoint, attempts and cause, not "The operation was aborted".
    expect(err.message).toMatch(
      new RegExp(
        `S3 UploadPart \\(part 2\\) for ${p}/data/\\S+/tree\\.tar\\.(gz|zst) in bucket "${BUCKET}" ` +
          `at ${proxy.endpoint} failed after 3 attempts: HTTP 500 InternalError`,
      ),
    );
    expect(err.hint).toMatch(/throttled/);
    proxy.setFaults(undefined);
    expect(json((await run(['snapshots', '--json', '--repo', repo])).stdout).map((s: { id: string }) => s.id)).toEqual([
      before,
    ]);
    expect(await s3.unfinishedUploads(BUCKET)).toEqual([]);
    // What was uploaded before the failure was removed: only the first snapshot's blobs remain.
    expect((await s3.listKeys(BUCKET, `${p}/data/`)).every((k) => k.includes(before))).toBe(true);
  }, 90_000);
  it('a restore whose download trickles fails with the storage error and a hint, and writes nothing', async () => {
    const p = prefix();
    const repo = s3url(p, proxy.endpoint);
    expect((await run(['init', '--repo', repo])).code).toBe(0);
    // 64 KiB that do not compress: at a byte every 100 ms, reading them would take almost two hours.
    await mkdir(path.join(dir, 'random'));
    await writeFile(path.join(dir, 'random', 'r.bin'), randomBytes(64 << 10));
    expect((await run(['backup', path.join(dir, 'random'), '--repo', repo])).code).toBe(0);
    // A byte every 100 ms: the socket is never idle, so only the minimum rate ends the read.
    proxy.setFaults((r) =>
      r.op === 'GetObject' && r.path.includes('.tar.') ? { kind: 'trickle-response', everyMs: 100 } : undefined,
    );
    const target = path.join(dir, 'restored');
    const r = await run(['restore', 'latest', '--target', target, '--repo', repo, '--json'], {
      DRKIT_S3_SOCKET_TIMEOUT_MS: '1000',
      DRKIT_S3_MAX_ATTEMPTS: '2',
    });
    expect(r.code, r.stderr).toBe(1);
    const err = json(r.stdout).error;
    expect(err.code).toBe('STORAGE_IO');
    expect(err.message).toMatch(/failed after 2 attempts: the body came at \d+ B\/s, below the minimum of 1024 B\/s/);
    expect(err.hint).toMatch(/lower DRKIT_S3_MIN_READ_RATE/);
    expect(existsSync(target)).toBe(false);
  }, 90_000);
});

describe('a Redis restore whose archive cannot be read part-way (S3 through a real proxy)', () => {
  let proxy: FaultProxy;
  let server: RunningRedis;
  beforeAll(async () => {
    proxy = await startFaultProxy(s3.endpoint);
    server = await startRedis();
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it('keeps the storage error and says the server now holds only part of the snapshot', async () => {
    const c = server.client();
    // 3,000 keys of 1,000 random bytes: ~3 MB of archive that does not compress. zstd hands on what it
    // decoded 1 MiB at a time (gzip 256 KiB), so a cut at 1.5 MB comes after some batches of 512 keys.
    const seed = c.pipeline();
    for (let i = 0; i < 3000; i++) seed.set(`k:${i}`, randomBytes(1000));
    await seed.exec();
    const repo = s3url(prefix(), proxy.endpoint);
    expect((await run(['init', '--repo', repo])).code).toBe(0);
    const b = await run(['backup', '--redis', server.url, '--repo', repo, '--json']);
    expect(b.code, b.stderr).toBe(0);
    await c.flushall();
    // The archive's download breaks after 1,500,000 bytes, and every attempt to resume it is refused.
    let downloads = 0;
    proxy.setFaults((r) =>
      r.op === 'GetObject' && r.path.includes('/redis.redis.')
        ? ++downloads === 1
          ? { kind: 'cut-response', bytes: 1_500_000 }
          : { kind: 'reset' }
        : undefined,
    );
    const r = await run(
      ['restore', 'latest', '--source', 'redis', '--redis', server.url, '--repo', repo, '--mode', 'replace', '--yes'],
      { DRKIT_S3_MAX_ATTEMPTS: '2' },
    );
    expect(r.code, r.stderr).toBe(1);
    const held = await c.dbsize();
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(3000);
    expect(r.stderr).toMatch(/^drkit: error \[STORAGE_IO\]: /);
    expect(r.stderr).toContain(
      `now holds only part of snapshot ${json(b.stdout).id}: ${held} of 3000 keys; databases left incomplete: ` +
        `db 0 (${held} of 3000 keys), emptied first.`,
    );
    expect(r.stderr).toMatch(/hint: redis:\/\/\S+ is partly restored\. .*Then run the same restore again/);
  }, 90_000);
});

describe('drkit copy', () => {
  it(
    'copies every snapshot local → S3 → local: all verify ' + 'and restore identically; a second copy skips them',
    async () => {
      const local = path.join(dir, 'local');
      const remote = s3url(prefix());
      const back = path.join(dir, 'back');
      for (const r of [local, remote, back]) expect((await run(['init', '--repo', r])).code).toBe(0);
      const first = json((await run(['backup', tree, '--repo', local, '--json'])).stdout).id;
      await writeFile(path.join(tree, 'data/new.txt'), 'added later\n');
      const second = json((await run(['backup', tree, '--repo', local, '--json'])).stdout).id;

      const up = await run(['copy', 'all', '--repo', local, '--to', remote, '--json']);
      expect(up.code, up.stderr).toBe(0);
      expect(json(up.stdout)).toMatchObject({ copied: 2, skipped: 0 });
      const down = await run(['copy', 'all', '--repo', remote, '--to', back, '--json']);
      expect(down.code, down.stderr).toBe(0);
      expect(json(down.stdout).snapshots.map((s: { id: string }) => s.id)).toEqual([first, second]);

      for (const r of [remote, back]) {
        const v = await run(['verify', 'all', '--repo', r, '--json']);
        expect(v.code, v.stderr).toBe(0);
        expect(json(v.stdout).snapshots).toHaveLength(2);
      }
      const fromLocal = path.join(dir, 'from-local');
      const fromBack = path.join(dir, 'from-back');
      await run(['restore', second, '--target', fromLocal, '--repo', local]);
      expect((await run(['restore', second, '--target', fromBack, '--repo', back])).code).toBe(0);
      expect(await describeTree(path.join(fromBack, 'tree'))).toEqual(await describeTree(path.join(fromLocal, 'tree')));
      expect(await describeTree(path.join(fromBack, 'tree'))).toEqual(await describeTree(tree));

      const again = await run(['copy', 'all', '--repo', local, '--to', remote]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('0 snapshot(s) copied');
    },
  );

  it('copies into an encrypted S3 repository, encrypting on the way; refuses to decrypt into a plain one', async () => {
    const local = path.join(dir, 'local');
    const keyFile = path.join(dir, 'key.txt');
    const p = prefix();
    const remote = s3url(p);
    await run(['init', '--repo', local]);
    await run(['init', '--repo', remote, '--generate-key', keyFile]);
    const { id } = json((await run(['backup', tree, '--repo', local, '--json'])).stdout);
    const c = await run(['copy', 'latest', '--repo', local, '--to', remote, '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect(json(c.stdout).snapshots).toEqual([expect.objectContaining({ id, status: 'copied', mode: 'encrypted' })]);
    expect(await bucketHolds(p, MARKER)).toEqual([]);
    const target = path.join(dir, 'restored');
    expect((await run(['restore', id, '--target', target, '--repo', remote, '--identity', keyFile])).code).toBe(0);
    expect(await describeTree(path.join(target, 'tree'))).toEqual(await describeTree(tree));

    const plain = path.join(dir, 'plain');
    await run(['init', '--repo', plain]);
    const refused = await run(['copy', 'all', '--repo', remote, '--to', plain, '--identity', keyFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('REPO_COPY_WOULD_DECRYPT');
    expect(await readdir(path.join(plain, 'snapshots')).catch(() => [])).toEqual([]);
  });

  it('shows bytes, rate and ETA on a terminal only', async () => {
    expect(formatTransfer(512 * 2 ** 20, 2 * 2 ** 30, 4000)).toBe('512.0 MiB of 2.0 GiB (25%), 128.0 MiB/s, ETA 0:12');
    expect(formatTransfer(10, undefined, 500)).toBe('10 B');
    const local = path.join(dir, 'local');
    const other = path.join(dir, 'other');
    await run(['init', '--repo', local]);
    await run(['init', '--repo', other]);
    await run(['backup', tree, '--repo', local]);
    // `script` runs drkit on a pseudo-terminal, as a person would see it.
    const tty = spawnSync(
      'script',
      ['-qec', `${process.execPath} ${MAIN} copy all --repo ${local} --to ${other}`, '/dev/null'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/copying \S+: [\d.]+ (B|KiB|MiB) of [\d.]+ (KiB|MiB) \(\d+%\)/);
    const piped = await run(['copy', 'all', '--repo', local, '--to', path.join(dir, 'other')]);
    expect(piped.stderr).toBe('');
  });
});
