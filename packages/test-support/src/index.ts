import { createHash } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  lutimes,
  writeFile,
  chmod,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A path of more than 150 characters with non-ASCII parts, as the round-trip tests require. */
export const LONG_PATH =
  `deeply/${'nested-folder-with-a-long-name/'.repeat(4)}` + `${'long-file-name-'.repeat(3)}ünïcödé-日本語.txt`;

const T0 = 1_700_000_000; // seconds; fixed mtimes make listings comparable

/**
 * Writes a tree with nested and empty folders, symlinks, modes 0600 and 0755, fixed mtimes,
 * a 150+ character path and non-ASCII names.
 */
export async function makeSampleTree(root: string): Promise<void> {
  const files: Array<[string, string | Buffer, number]> = [
    ['config/app.json', '{"port": 3000}\n', 0o644],
    ['config/secret.env', 'TOKEN=abc\n', 0o600],
    ['data/feedback.jsonl', '{"id":1}\n{"id":2}\n', 0o644],
    ['data/shard-1/part.jsonl', '{"id":3}\n', 0o644],
    ['bin/run.sh', '#!/bin/sh\necho hi\n', 0o755],
    ['données/café ☕.txt', 'crème brûlée\n', 0o644],
    ['media/blob.bin', Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)), 0o644],
    ['empty-file', '', 0o644],
    [LONG_PATH, 'long\n', 0o644],
  ];
  for (const [rel, content, mode] of files) {
    const p = path.join(root, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, content);
    await chmod(p, mode);
  }
  await mkdir(path.join(root, 'empty-dir/also-empty'), { recursive: true });
  await symlink('../config/app.json', path.join(root, 'data/app-link.json'));
  await symlink('does-not-exist', path.join(root, 'dangling'));
  await chmod(path.join(root, 'bin'), 0o755);
  await chmod(path.join(root, 'empty-dir'), 0o700);
  await setTimes(root, T0);
}

/** Sets fixed mtimes on everything below root, deepest first so folder times stick. */
export async function setTimes(root: string, seconds: number): Promise<void> {
  const entries = await describeTree(root, { hash: false, exact: true });
  for (const e of entries.reverse()) {
    const p = Buffer.concat([Buffer.from(`${root}/`), Buffer.from(e.path, 'latin1')]); // exact: one character per byte
    if (e.type === 'symlink') await lutimes(p, seconds, seconds + 2);
    else await utimes(p, seconds, seconds + 1);
  }
}

export interface TreeEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  mtimeMs: number;
  size?: number;
  sha256?: string;
  linkTarget?: string;
}

/**
 * Every entry below root, sorted, with what a user would compare: type, mode, mtime, content.
 * Names are read as bytes; `exact` shows them (and link targets) one character per byte
 * (latin1), so names that are not UTF-8 compare byte for byte, else as UTF-8 text.
 */
export async function describeTree(
  root: string,
  options: { hash?: boolean; exact?: boolean } = {},
): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const text = (b: Buffer) => b.toString(options.exact ? 'latin1' : 'utf8');
  async function visit(dir: Buffer, rel: string): Promise<void> {
    const names = (await readdir(dir, { encoding: 'buffer' })).map((name) => ({ name, shown: text(name) }));
    names.sort((a, b) => (a.shown < b.shown ? -1 : a.shown > b.shown ? 1 : 0));
    for (const { name, shown } of names) {
      const p = Buffer.concat([dir, Buffer.from('/'), name]);
      const r = rel ? `${rel}/${shown}` : shown;
      const st = await lstat(p);
      const base = { path: r, mode: st.mode & 0o7777, mtimeMs: Math.round(st.mtimeMs) };
      if (st.isDirectory()) {
        out.push({ ...base, type: 'dir' });
        await visit(p, r);
      } else if (st.isSymbolicLink()) {
        // Symlink modes are not portable; compare the target instead.
        out.push({
          path: r,
          type: 'symlink',
          mode: 0,
          mtimeMs: base.mtimeMs,
          linkTarget: text(await readlink(p, 'buffer')),
        });
      } else if (st.isFile()) {
        const sha256 =
          options.hash === false
            ? undefined
            : createHash('sha256')
                .update(await readFile(p))
                .digest('hex');
        out.push({ ...base, type: 'file', size: st.size, ...(sha256 ? { sha256 } : {}) });
      } else out.push({ ...base, type: 'other' });
    }
  }
  await visit(Buffer.from(path.resolve(root)), '');
  return out;
}

/** A temporary folder removed by the returned cleanup. */
export async function tempDir(prefix = 'drkit-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
export { snapshotTree } from './snapshot-tree.js';
export { type RunningRedis, freePort, REDIS_SERVER, startRedis, type StartRedisOptions } from './redis.js';
export { type RunningEtcd, startEtcd } from './etcd.js';
export {
  BINARY_KEY,
  BINARY_VALUE,
  type RedisKeyState,
  redisContents,
  sameRedisContents,
  seedRedis,
} from './redis-data.js';
export { snapshotRedis, withRdbVersion } from './redis-snapshot.js';
export { type Fault, type FaultProxy, type ProxiedRequest, startFaultProxy } from './fault-proxy.js';
export { type RunningS3, S3_TEST_CREDENTIALS, startS3Server } from './s3-server.js';
export { type RunningCluster, type RunningSentinel, startRedisCluster, startRedisSentinel } from './topologies.js';
export {
  type Answer,
  type AnswerRule,
  type RecordedRequest,
  type RecordingServer,
  startRecordingServer,
} from './recording-server.js';
export {
  type ReceivedMail,
  type SmtpRefusal,
  type SmtpTestServer,
  type SmtpTestServerOptions,
  selfSignedCertificate,
  startSmtpServer,
  type TestCertificate,
} from './smtp-server.js';
