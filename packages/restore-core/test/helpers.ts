import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  encodeHeader,
  FORMAT_VERSION,
  type IndexEntry,
  KEYS,
  type Repository,
  type SnapshotMeta,
  type SourceItem,
  type TarHeader,
} from '@drkit/repository';

/** A source read from a real folder, the way a file-tree backup reads it: a folder before its contents. */
export async function* walkTree(root: string, rel = ''): AsyncGenerator<SourceItem> {
  const names = (await readdir(path.join(root, rel))).sort();
  for (const name of names) {
    const relPath = rel ? `${rel}/${name}` : name;
    const abs = path.join(root, relPath);
    const st = await lstat(abs);
    const base = { path: relPath, mode: st.mode & 0o7777, mtime: st.mtimeMs };
    if (st.isDirectory()) {
      yield { ...base, type: 'dir', size: 0 };
      yield* walkTree(root, relPath);
    } else if (st.isSymbolicLink()) yield { ...base, type: 'symlink', size: 0, linkTarget: await readlink(abs) };
    else yield { ...base, type: 'file', size: st.size, content: () => createReadStream(abs) };
  }
}

export async function snapshotOf(repo: Repository, sources: Record<string, string>): Promise<SnapshotMeta> {
  const writer = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
  for (const [name, dir] of Object.entries(sources))
    await writer.writeSource({ name, type: 'files', origin: dir }, walkTree(dir));
  return writer.commit();
}

// Same rounding as the restore, so that fixture mtimes are exactly the milliseconds given.
const seconds = (ms: number) => ms / 1000 + 5e-7;

export const LONG_PATH = `${'long-directory-name-'.repeat(4)}x/${'very-long-file-name-'.repeat(5)}end.txt`;
export const UNICODE_PATH = 'données/résumé-日本語 ✓.txt';

/** Nested and empty folders, symlinks, modes 0600/0755, fixed mtimes, a 150+ character path and non-ASCII names. */
export async function makeTree(root: string): Promise<void> {
  const files: Record<string, [string | Buffer, number]> = {
    'app/config.yaml': ['key: value\n', 0o600],
    'app/run.sh': ['#!/bin/sh\necho hi\n', 0o755],
    'data/nested/deeper/records.jsonl': [Buffer.alloc(200_000, '{"a":1}\n'), 0o644],
    'data/empty.txt': ['', 0o644],
    [LONG_PATH]: ['long\n', 0o644],
    [UNICODE_PATH]: ['unicode ✓\n', 0o640],
  };
  for (const [rel, [content, mode]] of Object.entries(files)) {
    await mkdir(path.join(root, path.dirname(rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
    await chmod(path.join(root, rel), mode);
  }
  await mkdir(path.join(root, 'empty-dir'), { recursive: true });
  await chmod(path.join(root, 'empty-dir'), 0o700);
  await chmod(path.join(root, 'app'), 0o750);
  await symlink('config.yaml', path.join(root, 'app/config-link'));
  await symlink('/nonexistent/absolute/target', path.join(root, 'app/dangling'));
  await setMtimes(root, 1_700_000_000_123);
}

/** Distinct fixed mtimes, deepest first so that setting them does not disturb the folders'. */
export async function setMtimes(root: string, start: number): Promise<void> {
  const all = (await listing(root))
    .map((e) => e.path)
    .sort((a, b) => b.split('/').length - a.split('/').length || a.localeCompare(b));
  let t = start;
  for (const rel of all) {
    const abs = path.join(root, rel);
    t += 1000.5;
    if ((await lstat(abs)).isSymbolicLink()) await lutimes(abs, seconds(t), seconds(t));
    else await utimes(abs, seconds(t), seconds(t));
  }
}

export interface Listed {
  path: string;
  type: string;
  mode?: number;
  mtimeMs: number;
  size?: number;
  sha256?: string;
  linkTarget?: string;
}

/** Everything under a folder with type, mode, mtime and content hash, sorted by path. */
export async function listing(root: string, rel = ''): Promise<Listed[]> {
  let names: string[];
  try {
    names = await readdir(path.join(root, rel));
  } catch {
    return [];
  }
  const out: Listed[] = [];
  for (const name of names.sort()) {
    const relPath = rel ? `${rel}/${name}` : name;
    const abs = path.join(root, relPath);
    const st = await lstat(abs);
    if (st.isDirectory()) {
      out.push({ path: relPath, type: 'dir', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs });
      out.push(...(await listing(root, relPath)));
    } else if (st.isSymbolicLink())
      out.push({ path: relPath, type: 'symlink', mtimeMs: st.mtimeMs, linkTarget: await readlink(abs) });
    else
      out.push({
        path: relPath,
        type: 'file',
        mode: st.mode & 0o7777,
        mtimeMs: st.mtimeMs,
        size: st.size,
        sha256: createHash('sha256')
          .update(await readFile(abs))
          .digest('hex'),
      });
  }
  return out;
}

export interface CraftedEntry {
  header: TarHeader;
  content?: Buffer;
}

/**
 * Stores a snapshot with a hand-made archive and index (gzip), bypassing the writer, to feed
 * the restore the archives an attacker or a broken disk could produce.
 */
export async function craftSnapshot(
  repo: Repository,
  id: string,
  source: string,
  archive: CraftedEntry[],
  index: IndexEntry[],
): Promise<SnapshotMeta> {
  const tar = Buffer.concat([
    ...archive.flatMap(({ header, content = Buffer.alloc(0) }) => [
      encodeHeader(header),
      content,
      Buffer.alloc((512 - (content.length % 512)) % 512),
    ]),
    Buffer.alloc(1024),
  ]);
  const jsonl = Buffer.from(index.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const put = async (key: string, raw: Buffer) => {
    const blob = gzipSync(raw);
    await repo.store.put(key, blob);
    return {
      key,
      size: blob.length,
      sha256: createHash('sha256').update(blob).digest('hex'),
      compression: 'gzip' as const,
    };
  };
  const meta: SnapshotMeta = {
    format: FORMAT_VERSION,
    id,
    time: new Date().toISOString(),
    host: 'test',
    toolVersion: 'test',
    kind: 'full',
    status: 'complete',
    tags: [],
    sources: [
      {
        name: source,
        type: 'files',
        archive: await put(KEYS.archive(id, source, '.tar.gz'), tar),
        index: { ...(await put(KEYS.index(id, source, 'gzip'), jsonl)), entries: index.length },
        stats: { files: index.filter((e) => e.type === 'file').length, dirs: 0, symlinks: 0, bytes: 0 },
        findings: [],
        findingsTotal: 0,
        holders: [],
      },
    ],
    errors: [],
  };
  await repo.store.put(KEYS.snapshot(id), Buffer.from(JSON.stringify(meta)));
  return meta;
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
