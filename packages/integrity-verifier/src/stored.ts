import { digestBlob, type Repository, type SnapshotMeta, type SourceMeta } from '@drkit/repository';
import { StorageErrorCode } from '@drkit/storage';
import { startSourceReport } from './source-report.js';
import type { ProblemKind, SourceReport, VerifyOptions } from './verify.js';

export const NO_IDENTITY_NOTE =
  'contents not checked: the repository is encrypted and no identity was given; every stored blob was read ' +
  'and matches its recorded size and sha256';

/**
 * Verifies an encrypted source without its key: every blob it needs (its archive and index,
 * and the archives of earlier snapshots an incremental points into) exists and matches its
 * recorded size and sha256. Proves the stored bytes are intact; says that contents were not read.
 */
export async function verifyStoredSource(
  repo: Repository,
  snapshot: SnapshotMeta,
  source: SourceMeta,
  options: VerifyOptions,
): Promise<SourceReport> {
  const { report, problem } = startSourceReport(source);
  report.contentChecked = false;
  report.note = NO_IDENTITY_NOTE;
  const blobs: Array<{ key: string; size: number; sha256: string; missing: ProblemKind; what: string }> = [];
  if (source.index) blobs.push({ ...source.index, missing: 'missing-blob', what: 'index' });
  for (const link of await repo.archiveChain(snapshot, source)) {
    const own = link.holder === snapshot.id;
    if (!link.source)
      problem(
        'missing-link',
        `snapshot ${link.holder}, which holds unchanged files of this incremental, is missing from the repository`,
      );
    else
      blobs.push({
        ...link.source.archive,
        missing: own ? 'missing-blob' : 'missing-link',
        what: own ? 'archive' : `archive (snapshot ${link.holder}, which this incremental depends on)`,
      });
  }
  for (const b of blobs) {
    try {
      const d = await digestBlob(repo.store, b.key);
      report.bytes += d.size;
      if (d.size !== b.size || d.sha256 !== b.sha256)
        problem(
          'digest-mismatch',
          `${b.key} is damaged: expected ${b.size} bytes with sha256 ${b.sha256.slice(0, 12)}…, ` +
            `found ${d.size} bytes with sha256 ${d.sha256.slice(0, 12)}…`,
        );
    } catch (err) {
      if ((err as { code?: string }).code === StorageErrorCode.NOT_FOUND)
        problem(b.missing, `${b.key}, the ${b.what} of source "${source.name}", is missing from the repository`);
      else throw err;
    }
    options.onProgress?.({ source: source.name, entries: 0, bytes: report.bytes });
  }
  report.ok = report.problems.length === 0;
  return report;
}
