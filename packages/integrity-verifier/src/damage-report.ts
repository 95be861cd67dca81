import { createHash } from 'node:crypto';
import {
  type BlobDamage,
  expectedHeader,
  type IndexEntry,
  indexAlone,
  normaliseEntryPath,
  type Repository,
  salvageArchive,
  salvageIndex,
  type SnapshotMeta,
  type SourceMeta,
  type Span,
} from '@drkit/repository';
import { StorageErrorCode } from '@drkit/storage';

/** What `drkit restore --salvage` would make of a damaged source, found by reading it the same way. */
export interface DamageReport {
  /**
   * Stored blobs found damaged, with the byte ranges that cannot
   * be used (none: damage found by the blob's sha256 alone).
   */
  blobs: Array<{ key: string; spans: Span[] }>;
  /** Entries salvage would restore, checked against the index. */
  restorable: number;
  /** Entries it could not, and why. */
  lost: Array<{ path: string; reason: string }>;
  /**
   * Archive entries whose line of a damaged index is lost:
   * salvage leaves them out, having nothing to check them against.
   */
  unverified: string[];
}

/**
 * Reads a damaged source past its damage (salvageIndex, salvageArchive) and says which byte
 * ranges of which blobs are damaged and which paths they cost. Only run for a source verify
 * found damaged: the normal check stops at the first damage, and this reads on.
 */
export async function damageReport(
  repo: Repository,
  snapshot: SnapshotMeta,
  source: SourceMeta,
): Promise<DamageReport> {
  const report: DamageReport = { blobs: [], restorable: 0, lost: [], unverified: [] };
  const note = (damage: BlobDamage) => {
    if (!damage.intact || damage.spans.length > 0) report.blobs.push({ key: damage.key, spans: damage.spans });
  };
  const index = new Map<string, IndexEntry>();
  const indexRead = salvageIndex(repo, source);
  try {
    for await (const e of indexRead.entries) {
      const norm = normaliseEntryPath(e.path);
      if ('path' in norm) index.set(norm.path, e);
    }
  } catch (err) {
    if ((err as { code?: string }).code !== StorageErrorCode.NOT_FOUND) throw err;
    indexRead.damage.intact = false;
  }
  note(indexRead.damage);
  const indexDamaged = !indexRead.damage.intact;

  const taken = new Set<string>();
  const why = new Map<string | undefined, string>();
  for (const link of await repo.archiveChain(snapshot, source)) {
    const holder = link.holder === snapshot.id ? undefined : link.holder;
    if (!link.source) {
      why.set(holder, `snapshot ${link.holder}, which holds its content, is missing`);
      continue;
    }
    const key = link.source.archive.key;
    why.set(holder, `its header or content lies in a damaged part of ${key}`);
    const { entries, damage } = salvageArchive(
      repo,
      link.source,
      expectedHeader(index, holder, (p) => taken.has(p)),
    );
    try {
      for await (const entry of entries) {
        const norm = normaliseEntryPath(entry.name);
        const expected = 'path' in norm ? index.get(norm.path) : undefined;
        if (!expected) {
          if (indexDamaged && 'path' in norm && !holder) report.unverified.push(norm.path);
          continue;
        }
        if (expected.in !== holder || taken.has(expected.path)) continue;
        taken.add(expected.path);
        const problem = await entryProblem(entry, expected);
        if (!problem) report.restorable++;
        else {
          report.lost.push({ path: expected.path, reason: problem });
          damage.explain(entry.stored);
        }
      }
    } catch (err) {
      if ((err as { code?: string }).code !== StorageErrorCode.NOT_FOUND) throw err;
      why.set(holder, `the archive ${key} is missing`);
      damage.intact = false;
    }
    note(damage);
  }
  for (const e of index.values()) {
    if (taken.has(e.path)) continue;
    if (indexAlone(e)) report.restorable++;
    else report.lost.push({ path: e.path, reason: why.get(e.in) ?? 'it is missing from the archive' });
  }
  return report;
}

/** Why an archive entry would not be restored: it differs from its index entry, or its content runs into damage. */
async function entryProblem(
  entry: { type: string; size: number; linkTarget: string | undefined; stream: AsyncIterable<Buffer> },
  expected: IndexEntry,
): Promise<string | undefined> {
  if (entry.type !== expected.type) return `it is a ${entry.type} in the archive but a ${expected.type} in the index`;
  if (entry.type === 'symlink')
    return entry.linkTarget === expected.linkTarget ? undefined : 'its link target differs from the index';
  if (entry.type !== 'file') return undefined;
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of entry.stream) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (err) {
    return (err as Error).message;
  }
  return size === expected.size && hash.digest('hex') === expected.sha256
    ? undefined
    : 'its content is damaged: it does not match its sha256';
}
