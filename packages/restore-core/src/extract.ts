import { isDrkitError } from '@drkit/errors';
import type { ArchiveEntry, IndexEntry, Repository, SnapshotMeta, SourceMeta } from '@drkit/repository';
import { loadIndex } from './entry-index.js';
import { corruptEntry, RestoreError, RestoreErrorCode, unsafePath } from './errors.js';
import type { SourceLayout } from './layout.js';
import { isWrite, type PlanItem } from './plan-model.js';
import { ancestorsOf, entryPathOf, parentOf, safeEntryPath, targetPathOf } from './paths.js';
import type { Salvage } from './salvage.js';
import { digestContent, FileWriter } from './write-entry.js';

/** Metadata applied once everything is in place: a folder's mode and mtime, or (no mode) an entry's mtime alone. */
export interface PendingMetadata {
  path: string;
  mode?: number;
  mtime: number;
}

export interface ExtractJob {
  snapshot: SnapshotMeta;
  source: SourceMeta;
  layout: SourceLayout;
  /** The plan's items by target-relative path. */
  planned: Map<string, PlanItem>;
  tree: string;
  /** Set by `--salvage`: damage is skipped and what it cost is listed there instead of failing the restore. */
  salvage?: Salvage;
  /** Called as each chunk of a file being written arrives, for progress on large files. */
  onBytes: (item: PlanItem, bytes: number) => void;
  onWritten: (item: PlanItem) => void;
  /** Stops the extraction at the next entry or chunk. */
  signal?: AbortSignal;
}

/**
 * Streams one source's archive once. Every entry must have a safe name, be in the index with
 * the same type, and (files) hash to the index's sha256; the planned ones are written under `tree`.
 */
export async function extractSource(repo: Repository, job: ExtractJob): Promise<PendingMetadata[]> {
  const writer = new FileWriter();
  try {
    const pendingDirs = await extractEntries(repo, job, writer);
    await writer.finish();
    return pendingDirs;
  } catch (error) {
    await writer.settle(); // before the caller removes what the queued writes write to
    throw error;
  }
}

async function extractEntries(repo: Repository, job: ExtractJob, writer: FileWriter): Promise<PendingMetadata[]> {
  const { source, layout, tree } = job;
  const index = await loadIndex(repo, source, job.salvage);
  const seen = new Set<string>();
  const madeDirs = new Set<string>();
  const symlinksWritten = new Set<string>();
  const pendingDirs: PendingMetadata[] = [];
  await makeUnlistedFolders(job, index, writer, madeDirs, pendingDirs);

  // An incremental's unchanged files live in earlier snapshots' archives: read each once.
  for (const link of await repo.archiveChain(job.snapshot, source)) {
    const own = link.holder === job.snapshot.id;
    const take = async (entry: ArchiveEntry): Promise<void> => {
      job.signal?.throwIfAborted();
      const entryPath = safeEntryPath(entry.name, source.name);
      if (!own && index.get(entryPath)?.in !== link.holder) return; // changed or deleted since
      const relPath = targetPathOf(layout.dir, entryPath);
      const indexed = matchIndex(entry, entryPath, index, source.name);
      if (own && indexed.in)
        throw corruptEntry(
          source.name,
          entryPath,
          `is in this snapshot's archive, but the index says snapshot ${indexed.in} holds it`,
        );
      if (seen.has(relPath)) throw corruptEntry(source.name, entryPath, 'appears twice in the archive');
      seen.add(relPath);
      const item = job.planned.get(relPath);
      if (item && item.type !== indexed.type)
        throw planMismatch(relPath, `is a ${item.type}, the snapshot's a ${indexed.type}`);
      const writing = item && isWrite(item.action) ? item : undefined;
      const dest = `${tree}/${relPath}`; // relPath is normalised (safeEntryPath)
      if (writing) {
        // Never write through a symlink this restore created, whatever the archive says.
        const through = symlinksWritten.size > 0 ? ancestorsOf(relPath).find((a) => symlinksWritten.has(a)) : undefined;
        if (through)
          throw unsafePath(
            `archive entry "${entryPath}" of source "${source.name}"`,
            `lies below the symbolic link "${through}"`,
            { source: source.name, entry: entryPath },
          );
        const parent = parentOf(relPath);
        if (parent && !madeDirs.has(parent)) {
          await writer.dir(`${tree}/${parent}`);
          madeDirs.add(parent);
        }
      }

      if (entry.type === 'file') {
        if (entry.size !== indexed.size)
          throw corruptEntry(
            source.name,
            entryPath,
            `has ${entry.size} bytes in the archive but ${indexed.size} in the index`,
          );
        const content = readContent(
          entry,
          source.name,
          entryPath,
          writing && ((n) => job.onBytes(writing, n)),
          job.signal,
        );
        const digest = writing ? await writer.write(dest, content, indexed) : await digestContent(content);
        if (digest.size !== indexed.size || digest.sha256 !== indexed.sha256)
          throw corruptEntry(
            source.name,
            entryPath,
            `does not match the index: sha256 ${digest.sha256.slice(0, 12)}… (${digest.size} bytes), ` +
              `expected ${indexed.sha256?.slice(0, 12)}… (${indexed.size} bytes)`,
          );
      } else if (entry.type === 'symlink') {
        if (entry.linkTarget !== indexed.linkTarget)
          throw corruptEntry(
            source.name,
            entryPath,
            `points to ${JSON.stringify(entry.linkTarget)} in the archive ` +
              `but ${JSON.stringify(indexed.linkTarget)} in the index`,
          );
        if (writing) {
          await writer.symlink(dest, indexed);
          symlinksWritten.add(relPath);
        }
      } else if (item && item.action !== 'skip-existing') {
        if (writing) {
          await writer.dir(dest);
          madeDirs.add(relPath);
        }
        // Unchanged folders too: moving entries into them changes their mtime.
        pendingDirs.push({ path: relPath, mode: indexed.mode, mtime: indexed.mtime });
      }
      if (item?.action === 'set-mtime' && entry.type !== 'dir')
        pendingDirs.push({ path: relPath, mtime: indexed.mtime });
      if (writing) job.onWritten(writing);
    };
    if (job.salvage)
      await job.salvage.readLink(
        repo,
        { source, layout, index, own, holder: link.holder, archive: link.source, seen, planned: job.planned },
        take,
      );
    else {
      if (!link.source) throw brokenChain(job.snapshot.id, source.name, link.holder, link.damaged);
      for await (const entry of repo.readArchive(link.source)) await take(entry);
    }
  }

  // Salvage makes what the index alone describes (folders, symlinks, empty files) and lists the rest as lost.
  const missing: PlanItem[] = [];
  for (const item of job.planned.values()) {
    if (item.source !== source.name || seen.has(item.path)) continue;
    const entryPath = entryPathOf(layout.dir, item.path);
    if (index.has(entryPath) && job.salvage) missing.push(item);
    else if (index.has(entryPath))
      throw corruptEntry(source.name, entryPath, 'is in the index but missing from the archive');
    // Only folders are planned beyond the index (a source's own, or one the index leaves out).
    else if (item.type !== 'dir') throw planMismatch(item.path, 'is not in the snapshot');
  }
  await job.salvage?.fromIndex(missing, { source, layout, index }, writer, tree, pendingDirs, job.onWritten);
  return pendingDirs;
}

/**
 * The planned folders that no archive entry holds: the one the source lands in (with the
 * source's recorded root mode and mtime) and any the index leaves out above an entry.
 */
async function makeUnlistedFolders(
  job: ExtractJob,
  index: Map<string, IndexEntry>,
  writer: FileWriter,
  madeDirs: Set<string>,
  pending: PendingMetadata[],
): Promise<void> {
  const { layout, source } = job;
  for (const item of job.planned.values()) {
    if (item.source !== source.name || item.type !== 'dir' || index.has(entryPathOf(layout.dir, item.path))) continue;
    if (isWrite(item.action)) {
      if (item.path) await writer.dir(`${job.tree}/${item.path}`); // '' is the staging tree itself
      madeDirs.add(item.path);
      job.onWritten(item);
    }
    if (item.path === layout.dir && source.root && item.action !== 'skip-existing')
      pending.push({ path: item.path, mode: source.root.mode, mtime: source.root.mtime });
  }
}

function matchIndex(
  entry: ArchiveEntry,
  entryPath: string,
  index: Map<string, IndexEntry>,
  source: string,
): IndexEntry {
  const indexed = index.get(entryPath);
  if (!indexed) throw corruptEntry(source, entryPath, "is in the archive but not in the snapshot's index");
  if (indexed.type !== entry.type)
    throw corruptEntry(source, entryPath, `is a ${entry.type} in the archive but a ${indexed.type} in the index`);
  return indexed;
}

// A read failure inside an entry is damage in the archive, not a local disk problem.
export async function* readContent(
  entry: ArchiveEntry,
  source: string,
  entryPath: string,
  onChunk?: (bytes: number) => void,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of entry.stream) {
      signal?.throwIfAborted();
      onChunk?.((chunk as Buffer).length);
      yield chunk as Buffer;
    }
  } catch (cause) {
    // Drkit errors say enough; anything else (a TarFormatError too) is this entry's damage.
    if (isDrkitError(cause)) throw cause;
    throw corruptEntry(
      source,
      entryPath,
      `cannot be read from the archive (${(cause as Error)?.message ?? cause})`,
      cause,
    );
  }
}

export function brokenChain(
  snapshot: string,
  source: string,
  holder: string,
  damaged: string | undefined,
): RestoreError {
  return new RestoreError(
    RestoreErrorCode.CORRUPT,
    `Snapshot ${snapshot} is an incremental: unchanged files of source "${source}" are kept in snapshot ${holder}, ` +
      `${damaged ? `whose metadata is damaged (${damaged})` : 'which is missing from the repository'}.`,
    {
      hint:
        'Restore an older full snapshot or another incremental whose chain is complete (`drkit verify all` ' +
        'shows which), or copy the missing snapshot back from another repository.',
      details: { snapshot, source, missing: holder },
    },
  );
}

function planMismatch(relPath: string, why: string): RestoreError {
  return new RestoreError(RestoreErrorCode.BAD_OPTIONS, `The plan's "${relPath}" ${why}.`, {
    hint: 'The plan was not made from this snapshot: plan the restore again.',
  });
}
