import { createHash } from 'node:crypto';
import {
  END_OF_ARCHIVE,
  encodeHeader,
  type IndexEntry,
  type Repository,
  type SnapshotMeta,
  type SourceMeta,
  tarPadding,
} from '@drkit/repository';
import { loadIndex } from './entry-index.js';
import { corruptEntry, RestoreError, RestoreErrorCode } from './errors.js';
import { brokenChain, readContent } from './extract.js';
import { safeEntryPath } from './paths.js';

export interface Dump {
  /** A file's own bytes, or a tar of a folder (or symlink) and everything below it. */
  type: 'file' | 'tar';
  entry?: IndexEntry;
  bytes: AsyncGenerator<Buffer>;
}

/**
 * One path of a source (`''`: all of it) as bytes for stdout, read from the archive that holds
 * each file (an incremental's unchanged files are in earlier snapshots) and checked against the
 * index's sha256 as it goes: damage ends the stream with RESTORE_CORRUPT.
 */
export async function dumpPath(
  repo: Repository,
  snapshot: SnapshotMeta,
  source: SourceMeta,
  path: string,
): Promise<Dump> {
  if (source.redis)
    throw new RestoreError(
      RestoreErrorCode.UNSUPPORTED_SOURCE,
      `Source "${source.name}" is a Redis source: it has keys, not files to dump.`,
      {
        hint:
          `List its keys with \`drkit ls ${snapshot.id} --source ${source.name}\`, or restore them with ` +
          `\`drkit restore ${snapshot.id} --source ${source.name} --redis URL\`.`,
      },
    );
  const wanted = path.replace(/^\/+|\/+$/g, '');
  const index = await loadIndex(repo, source);
  const entry = wanted ? index.get(wanted) : undefined;
  if (wanted && !entry)
    throw new RestoreError(
      RestoreErrorCode.PATH_NOT_FOUND,
      `Snapshot ${snapshot.id} has no "${wanted}" in source "${source.name}".`,
      {
        hint:
          `\`drkit find ${JSON.stringify(wanted.slice(wanted.lastIndexOf('/') + 1))}\` shows which snapshots ` +
          `hold it; \`drkit ls ${snapshot.id}\` lists this one.`,
        details: { source: source.name, path: wanted },
      },
    );
  if (entry?.type === 'file') return { type: 'file', entry, bytes: fileBytes(repo, snapshot, source, entry) };
  const below = [...index.values()].filter((e) => !wanted || e.path === wanted || e.path.startsWith(`${wanted}/`));
  return { type: 'tar', ...(entry ? { entry } : {}), bytes: tarBytes(repo, snapshot, source, below) };
}

async function* fileBytes(
  repo: Repository,
  snapshot: SnapshotMeta,
  source: SourceMeta,
  entry: IndexEntry,
): AsyncGenerator<Buffer> {
  const files = new Map([[entry.path, entry]]);
  for await (const { content } of archivedFiles(repo, snapshot, source, files)) yield* content;
}

/** A tar as `tar -x` reads it: folders and symlinks first, then each file as its archive yields it. */
async function* tarBytes(
  repo: Repository,
  snapshot: SnapshotMeta,
  source: SourceMeta,
  entries: IndexEntry[],
): AsyncGenerator<Buffer> {
  for (const e of entries)
    if (e.type !== 'file')
      yield encodeHeader({
        path: e.path,
        type: e.type,
        mode: e.mode,
        mtime: e.mtime,
        size: 0,
        linkTarget: e.linkTarget,
      });
  const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, e]));
  for await (const { entry, content } of archivedFiles(repo, snapshot, source, files)) {
    yield encodeHeader({ path: entry.path, type: 'file', mode: entry.mode, mtime: entry.mtime, size: entry.size ?? 0 });
    yield* content;
    yield tarPadding(entry.size ?? 0);
  }
  yield END_OF_ARCHIVE;
}

/** Each of `files` with its content (consume it before the next), from the archives of the source's chain. */
async function* archivedFiles(
  repo: Repository,
  snapshot: SnapshotMeta,
  source: SourceMeta,
  files: Map<string, IndexEntry>,
) {
  const holderOf = (e: IndexEntry) => e.in ?? snapshot.id;
  for (const link of await repo.archiveChain(snapshot, source)) {
    if (![...files.values()].some((e) => holderOf(e) === link.holder)) continue;
    if (!link.source) throw brokenChain(snapshot.id, source.name, link.holder, link.damaged);
    for await (const a of repo.readArchive(link.source)) {
      const path = safeEntryPath(a.name, source.name);
      const entry = files.get(path);
      if (!entry || holderOf(entry) !== link.holder) continue;
      if (a.type !== 'file')
        throw corruptEntry(source.name, path, `is a ${a.type} in the archive but a file in the index`);
      files.delete(path);
      yield { entry, content: checked(readContent(a, source.name, path), entry, source.name) };
      if (files.size === 0) return;
    }
  }
  const [missing] = files.keys();
  if (missing !== undefined) throw corruptEntry(source.name, missing, 'is in the index but missing from the archive');
}

async function* checked(content: AsyncGenerator<Buffer>, entry: IndexEntry, source: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of content) {
    hash.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  const sha256 = hash.digest('hex');
  if (size !== entry.size || sha256 !== entry.sha256)
    throw corruptEntry(
      source,
      entry.path,
      `does not match the index: sha256 ${sha256.slice(0, 12)}… (${size} bytes), ` +
        `expected ${entry.sha256?.slice(0, 12)}… (${entry.size} bytes)`,
    );
}
