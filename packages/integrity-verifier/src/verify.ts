import {
  type DamagedSnapshot,
  digestBlob,
  type Finding,
  globMatcher,
  type IndexEntry,
  normaliseEntryPath,
  type Repository,
  RepoErrorCode,
  type SnapshotMeta,
  snapshotIdTime,
  type SourceMeta,
} from '@drkit/repository';
import { StorageErrorCode } from '@drkit/storage';
import { ContentChecker, type FileResult } from './content-check.js';
import { type DamageReport, damageReport } from './damage-report.js';
import { verifyRedisSource } from './redis/verify-redis.js';
import { verifyStoredSource } from './stored.js';

export type ProblemKind =
  | 'missing-blob'
  | 'digest-mismatch'
  | 'corrupt-archive'
  | 'bad-index'
  | 'content-mismatch'
  | 'type-mismatch'
  | 'missing-entry'
  | 'unexpected-entry'
  | 'unsafe-path'
  | 'missing-link'
  | 'corrupt-record'
  | 'count-mismatch';

/** Something wrong with the stored snapshot: it may not restore as it was backed up. */
export interface Problem {
  kind: ProblemKind;
  source: string;
  entry?: string;
  message: string;
}

export interface SourceReport {
  name: string;
  ok: boolean;
  entries: number;
  bytes: number;
  problems: Problem[];
  /** Data-validation findings (e.g. invalid JSONL lines); they do not make the snapshot bad. */
  findings: Finding[];
  findingsTotal: number;
  /** false when only the stored blobs' digests were checked (encrypted, no identity). */
  contentChecked?: boolean;
  note?: string;
  /** For a damaged file source: the damaged byte ranges and what `restore --salvage` would save and lose. */
  damage?: DamageReport;
}

export interface VerifyReport {
  snapshot: string;
  time: string;
  ok: boolean;
  /** `unreadable` when the snapshot's metadata cannot be read: nothing of it could be checked. */
  status: SnapshotMeta['status'] | 'unreadable';
  sources: SourceReport[];
  /** false when some source's contents could not be read (encrypted, no identity): only digests were checked. */
  contentChecked: boolean;
  /** Why the metadata cannot be read (status `unreadable`). */
  damaged?: string;
}

export interface VerifyOptions {
  /** Files validated line by line as JSON (default all `*.jsonl`). */
  jsonlGlobs?: string[];
  maxFindings?: number;
  onProgress?: (p: { source: string; entries: number; bytes: number }) => void;
  /** Told when verifyRef runs without a lock because the repository cannot be written. */
  onWarning?: (message: string) => void;
}

/** Reads every archive of a snapshot and checks its digest and every entry against the index; takes no lock (verifyRef does). */
export async function verifySnapshot(repo: Repository, snapshot: SnapshotMeta, options: VerifyOptions = {}): Promise<VerifyReport> {
  const sources: SourceReport[] = [];
  for (const source of snapshot.sources) sources.push(await verifySource(repo, snapshot, source, options));
  return { snapshot: snapshot.id, time: snapshot.time, ok: sources.every((s) => s.ok), status: snapshot.status, sources, contentChecked: sources.every((s) => s.contentChecked !== false) };
}

/** Verifies `latest`, one id (or unique prefix), or `all` snapshots; with `all`, damaged metadata fails too. */
export async function verifyRef(repo: Repository, ref: string, options: VerifyOptions = {}): Promise<VerifyReport[]> {
  return repo.withReadLock('verify', options.onWarning, () => verifyUnlocked(repo, ref, options));
}

async function verifyUnlocked(repo: Repository, ref: string, options: VerifyOptions): Promise<VerifyReport[]> {
  const damaged: DamagedSnapshot[] = [];
  const snapshots = ref === 'all' ? await repo.listSnapshots({ onDamaged: (d) => damaged.push(d) }) : [await repo.resolveSnapshot(ref)];
  const reports: VerifyReport[] = [];
  for (const s of snapshots) reports.push(await verifySnapshot(repo, s, options));
  // After the readable ones: whatever damaged metadata described cannot be checked or restored.
  for (const d of damaged)
    reports.push({ snapshot: d.id, time: snapshotIdTime(d.id)?.toISOString() ?? '', ok: false, status: 'unreadable', sources: [], contentChecked: false, damaged: d.reason });
  return reports;
}

async function verifySource(repo: Repository, snapshot: SnapshotMeta, source: SourceMeta, options: VerifyOptions): Promise<SourceReport> {
  if (source.archive.encryption && !repo.keys.canDecrypt) return verifyStoredSource(repo, snapshot, source, options);
  if (source.redis) return verifyRedisSource(repo, source, options);
  const report: SourceReport = { name: source.name, ok: true, entries: 0, bytes: 0, problems: [], findings: [], findingsTotal: 0 };
  const problem = (kind: ProblemKind, message: string, entry?: string) => {
    report.problems.push({ kind, source: source.name, ...(entry ? { entry } : {}), message });
  };
  const isJsonl = globMatcher(options.jsonlGlobs ?? ['**/*.jsonl']);
  const maxFindings = options.maxFindings ?? 100;

  const index = new Map<string, IndexEntry>();
  try {
    for await (const e of repo.readIndex(source)) index.set(e.path, e);
  } catch (err) {
    const key = source.index?.key ?? '(no index)';
    if (!describeFailure(err, source, key, problem)) problem('bad-index', `the entry index ${key} cannot be read: ${(err as Error).message}`);
  }

  // An incremental's unchanged files are checked in the earlier archives that hold them.
  const brokenLinks = new Set<string>();
  const content = new ContentChecker();
  // Results settle in file order (from the worker or, when it is behind, the main thread), after the main thread has moved on.
  const checked: Promise<void>[] = [];
  const check = (path: string, expected: IndexEntry) => (r: FileResult) => {
    report.bytes += r.size;
    options.onProgress?.({ source: source.name, entries: report.entries, bytes: report.bytes });
    if (r.size !== expected.size || r.sha256 !== expected.sha256) problem('content-mismatch', `"${path}" does not match its recorded size and sha256; its content is damaged`, path);
    for (const f of r.findings) if (report.findings.length < maxFindings) report.findings.push(f);
    report.findingsTotal += r.findingsTotal;
  };
  try {
    for (const link of await repo.archiveChain(snapshot, source)) {
      const own = link.holder === snapshot.id;
      if (!link.source) {
        brokenLinks.add(link.holder);
        problem('missing-link', `snapshot ${link.holder}, which holds unchanged files of this incremental, is missing from the repository`);
        continue;
      }
      const archiveKey = link.source.archive.key;
      try {
        for await (const a of repo.readArchive(link.source)) {
          const norm = normaliseEntryPath(a.name);
          if (!own && ('unsafe' in norm || index.get(norm.path)?.in !== link.holder)) continue; // not needed from this link
          if ('unsafe' in norm) {
            problem('unsafe-path', `archive entry "${a.name}" ${norm.unsafe}; a restore would refuse it`, a.name);
            continue;
          }
          const expected = index.get(norm.path);
          if (!expected || (own && expected.in)) {
            problem('unexpected-entry', `"${norm.path}" is in the archive but not in the index`, norm.path);
            continue;
          }
          index.delete(norm.path);
          report.entries++;
          if (expected.type !== a.type) {
            problem('type-mismatch', `"${norm.path}" is a ${a.type} in the archive but a ${expected.type} in the index`, norm.path);
            continue;
          }
          if (a.type !== 'file') continue;
          content.begin(norm.path, isJsonl(norm.path));
          for await (const chunk of a.stream) await content.push(chunk as Buffer);
          checked.push(content.end().then(check(norm.path, expected)));
        }
      } catch (err) {
        if (content.broken) throw content.broken;
        brokenLinks.add(link.holder);
        const entry = (err as { details?: { entry?: string } }).details?.entry;
        const where = own ? archiveKey : `${archiveKey} (snapshot ${link.holder}, which this incremental depends on)`;
        if (!describeFailure(err, source, where, problem, own ? 'missing-blob' : 'missing-link')) problem('corrupt-archive', (err as Error).message, entry);
        // A damaged stream stops early; say also whether the stored bytes still match their digest.
        if ((err as { code?: string }).code === RepoErrorCode.CORRUPT_ARCHIVE) {
          const d = await digestBlob(repo.store, archiveKey).catch(() => undefined);
          if (d && d.sha256 !== link.source.archive.sha256)
            problem('digest-mismatch', `${archiveKey} does not match its recorded sha256: the stored archive was altered`);
        }
      }
    }
    await content.flush();
    await Promise.all(checked);
  } finally {
    await content.close();
  }
  for (const [missing, e] of index)
    if (!brokenLinks.has(e.in ?? snapshot.id)) problem('missing-entry', `"${missing}" is in the index but missing from ${e.in ? `snapshot ${e.in}'s archive` : 'the archive'}`, missing);
  report.ok = report.problems.length === 0;
  // Only now, and only for a damaged source: the normal read stopped at the damage, this one reads past it.
  if (!report.ok) report.damage = await damageReport(repo, snapshot, source);
  return report;
}

// Maps the repository's own failures to problems; returns false for anything else.
function describeFailure(err: unknown, source: SourceMeta, key: string, problem: (k: ProblemKind, m: string) => void, missing: ProblemKind = 'missing-blob'): boolean {
  const code = (err as { code?: string }).code;
  if (code === StorageErrorCode.NOT_FOUND) {
    problem(missing, `${key} of source "${source.name}" is missing from the repository`);
    return true;
  }
  if (code === RepoErrorCode.DIGEST_MISMATCH) {
    problem('digest-mismatch', (err as Error).message);
    return true;
  }
  return false;
}
