import { rmSync } from 'node:fs';
import { type DrkitError, isDrkitError } from '@drkit/errors';
import {
  type ArchiveEntry,
  type BlobDamage,
  expectedHeader,
  type IndexEntry,
  indexAlone,
  normaliseEntryPath,
  type Repository,
  RepoErrorCode,
  salvageArchive,
  salvageIndex,
  type SourceMeta,
  type Span,
} from '@drkit/repository';
import { StorageErrorCode } from '@drkit/storage';
import { RestoreError, RestoreErrorCode } from './errors.js';
import type { PendingMetadata } from './extract.js';
import type { SourceLayout } from './layout.js';
import { isWrite, type PlanItem } from './plan-model.js';
import { targetPathOf } from './paths.js';
import type { FileWriter } from './write-entry.js';

const DAMAGE = new Set<string>([
  RestoreErrorCode.CORRUPT,
  RepoErrorCode.CORRUPT_ARCHIVE,
  RepoErrorCode.DIGEST_MISMATCH,
]);

/** A restore that failed on damage says that `--salvage` would restore the rest. */
export function withSalvageHint(err: DrkitError): DrkitError {
  if (!DAMAGE.has(err.code)) return err;
  return new RestoreError(err.code as RestoreErrorCode, err.message, {
    cause: err,
    details: err.details,
    hint: (
      `${err.hint ?? ''} Or restore everything outside the damaged part with \`drkit restore --salvage\` (a ` +
      `salvaged restore lists each path it lost and exits with code 5).`
    ).trim(),
  });
}

/** A planned entry that `--salvage` could not restore, and why. */
export interface LostEntry {
  source: string;
  /** Relative to the target, as in the plan. */
  path: string;
  type: PlanItem['type'];
  size: number;
  reason: string;
}

/** A stored blob found damaged: the byte ranges that could not be used. */
export interface DamagedBlob {
  source: string;
  key: string;
  /** [start, end) byte offsets of the blob as stored; empty when damage was found by its sha256 alone. */
  spans: Span[];
}

export interface SalvageReport {
  damaged: DamagedBlob[];
  lost: LostEntry[];
  /** Archive entries left out because their line of a damaged index is lost: there is nothing to check them against. */
  unverified: Array<{ source: string; name: string }>;
}

/** What one source's reading needs to know about an archive of its chain. */
export interface LinkContext {
  source: SourceMeta;
  layout: SourceLayout;
  index: Map<string, IndexEntry>;
  own: boolean;
  holder: string;
  /** Undefined when the holder's metadata is gone. */
  archive: SourceMeta | undefined;
  /** Target-relative paths already taken from an archive. */
  seen: Set<string>;
  /** The plan's items by target-relative path: only entries it writes can be lost. */
  planned: Map<string, PlanItem>;
}

/**
 * `restore --salvage`: reads each archive past its damaged frames (salvageArchive), keeps every
 * entry that still matches its index entry, and lists what was lost instead of failing the restore.
 * Nothing unchecked is restored: files are hash-checked as always; folders, symlinks and empty
 * files whose headers were lost come from the index, which holds all there is to them.
 */
export class Salvage {
  private readonly damaged: DamagedBlob[] = [];
  private readonly lost: LostEntry[] = [];
  private readonly unverified: SalvageReport['unverified'] = [];
  private readonly lostPaths = new Set<string>();
  /** Why entries of a holder's archive never arrived, by holder id. */
  private readonly unreadable = new Map<string, string>();
  private readonly damagedIndexes = new Set<string>();

  /** A source's index lines outside its damaged frames. */
  async *readIndex(repo: Repository, source: SourceMeta): AsyncGenerator<IndexEntry> {
    const { entries, damage } = salvageIndex(repo, source);
    yield* entries;
    if (this.noteDamage(source.name, damage)) this.damagedIndexes.add(source.name);
  }

  /** Reads one archive of a source's chain, handing each entry to `take`; what damage costs is recorded, not thrown. */
  async readLink(repo: Repository, link: LinkContext, take: (entry: ArchiveEntry) => Promise<void>): Promise<void> {
    const { source, index, own, holder, seen } = link;
    const why = own ? '' : holder; // index entries of the source's own archive have no `in`
    if (!link.archive) {
      this.unreadable.set(why, `snapshot ${holder}, which holds its content, is missing`);
      return;
    }
    const key = link.archive.archive.key;
    this.unreadable.set(why, `its header or content lies in a damaged part of ${key}`);
    const trusted = expectedHeader(index, own ? undefined : holder, (path) =>
      seen.has(targetPathOf(link.layout.dir, path)),
    );
    const { entries, damage } = salvageArchive(repo, link.archive, trusted);
    try {
      for await (const entry of entries) {
        try {
          await take(entry);
        } catch (err) {
          if (
            !isDrkitError(err) ||
            (err.code !== RestoreErrorCode.CORRUPT && err.code !== RestoreErrorCode.UNSAFE_PATH)
          )
            throw err;
          if (this.entryFailed(entry, link, err.message)) damage.explain(entry.stored);
        }
      }
    } catch (err) {
      if ((err as { code?: string }).code !== StorageErrorCode.NOT_FOUND) throw err;
      this.unreadable.set(why, `the archive ${key} is missing`);
      damage.intact = false;
    }
    this.noteDamage(source.name, damage);
  }

  /**
   * Planned entries of a source that no archive gave: folders, symlinks and empty files are made
   * from their index entries; the others are lost.
   */
  async fromIndex(
    missing: PlanItem[],
    link: Pick<LinkContext, 'source' | 'layout' | 'index'>,
    writer: FileWriter,
    tree: string,
    pendingDirs: PendingMetadata[],
    onWritten: (item: PlanItem) => void,
  ): Promise<void> {
    for (const item of missing) {
      const indexed = link.index.get(link.layout.dir ? item.path.slice(link.layout.dir.length + 1) : item.path);
      if (!indexed) continue;
      const dest = `${tree}/${item.path}`;
      const writing = isWrite(item.action);
      if (indexed.type === 'dir') {
        if (item.action === 'skip-existing') continue;
        if (writing) await writer.dir(dest);
        pendingDirs.push({ path: item.path, mode: indexed.mode, mtime: indexed.mtime });
      } else if (!writing) continue;
      else if (indexed.type === 'symlink') await writer.symlink(dest, indexed);
      else if (indexAlone(indexed)) await writer.write(dest, nothing(), indexed);
      else {
        this.lose(item, this.unreadable.get(indexed.in ?? '') ?? 'it is missing from the archive');
        continue;
      }
      if (writing) onWritten(item);
    }
  }

  /** Removes files written to staging before they were found damaged, so nothing unchecked moves into place. */
  removeLost(tree: string): void {
    for (const path of this.lostPaths) rmSync(`${tree}/${path}`, { force: true });
  }

  isLost(path: string): boolean {
    return this.lostPaths.has(path);
  }

  report(): SalvageReport {
    return { damaged: this.damaged, lost: this.lost, unverified: this.unverified };
  }

  /** Records what an entry that failed its checks costs; true when the archive is to blame (not a lost index line). */
  private entryFailed(entry: ArchiveEntry, link: LinkContext, message: string): boolean {
    const norm = normaliseEntryPath(entry.name);
    const indexed = 'path' in norm ? link.index.get(norm.path) : undefined;
    if (!indexed) {
      const unindexed = this.damagedIndexes.has(link.source.name) && 'path' in norm;
      if (unindexed) this.unverified.push({ source: link.source.name, name: norm.path });
      return !unindexed;
    }
    const path = targetPathOf(link.layout.dir, indexed.path);
    link.seen.add(path);
    const item = link.planned.get(path);
    const prefix = `Entry "${indexed.path}" of source "${link.source.name}" `;
    if (item && isWrite(item.action))
      this.lose(item, (message.startsWith(prefix) ? message.slice(prefix.length) : message).replace(/\.$/, ''));
    return true;
  }

  private lose(item: PlanItem, reason: string): void {
    if (this.lostPaths.has(item.path)) return;
    this.lostPaths.add(item.path);
    this.lost.push({ source: item.source, path: item.path, type: item.type, size: item.size, reason });
  }

  /** Records a damaged blob; true when it was. */
  private noteDamage(source: string, damage: BlobDamage): boolean {
    if (damage.intact && damage.spans.length === 0) return false;
    this.damaged.push({ source, key: damage.key, spans: damage.spans });
    return true;
  }
}

async function* nothing(): AsyncGenerator<Buffer> {}
