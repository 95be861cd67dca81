import {
  type DamagedSnapshot,
  digestBlob,
  entryPlacementProblem,
  type FailedSource,
  type Finding,
  globMatcher,
  type IndexEntry,
  indexEntryProblem,
  matchesFilter,
  normaliseEntryPath,
  type Repository,
  RepoErrorCode,
  type SnapshotMeta,
  snapshotIdTime,
  type SnapshotFilter,
  type SourceMeta,
} from '@drkit/repository';
import { StorageErrorCode } from '@drkit/storage';
import { ContentChecker, type FileResult } from './content-check.js';
import { VerifyError, VerifyErrorCode } from './errors.js';
import { type DamageReport, damageReport } from './damage-report.js';
import { verifyRedisSource } from './redis/verify-redis.js';
import { startSourceReport } from './source-report.js';
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
  | 'invalid-path'
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
  /** The source's type (`files`, `redis`): a Redis problem's entry is a key as `displayKey` shows it, not a path. */
  type: string;
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
  /**
   * What the backup noted about this source's data (e.g. a file
   * that changed while it was read), as stored in the snapshot.
   */
  backupFindings?: Finding[];
  backupFindingsTotal?: number;
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
  /** The error code of that (e.g. REPO_CHECKSUM_MISMATCH, REPO_SIGNATURE_INVALID). */
  damagedCode?: string;
  /**
   * The pinned public key that signed the snapshot (only when
   * the reader pins keys: then every snapshot checked is signed).
   */
  signedBy?: string;
  /**
   * Earlier snapshots this incremental needs whose metadata is missing or damaged: it cannot be
   * restored because of them (each also has a `missing-link` problem in its source).
   */
  unrestorableBecause?: BrokenLink[];
  /**
   * What the backup could not read: files and keys (`errors`) and
   * whole sources (`failedSources`), as stored in the snapshot.
   */
  errors?: Finding[];
  failedSources?: FailedSource[];
}

/** A snapshot a source's unchanged files live in, that cannot be read. */
export interface BrokenLink {
  snapshot: string;
  source: string;
  /** `missing`: no metadata; `damaged`: metadata that cannot be read (`reason` says why). */
  state: 'missing' | 'damaged';
  reason?: string;
}

export interface VerifyOptions {
  /** Files validated line by line as JSON (default all `*.jsonl`). */
  jsonlGlobs?: string[];
  maxFindings?: number;
  /** `totalBytes`, when known: what the source's files hold, as its snapshot recorded it. */
  onProgress?: (p: { source: string; entries: number; bytes: number; totalBytes?: number }) => void;
  /** Told when verifyRef runs without a lock because the repository cannot be written. */
  onWarning?: (message: string) => void;
  /**
   * verifyRef: only the snapshots it selects (`all`), or among
   * which the ref is resolved. Damaged metadata is still reported.
   */
  filter?: SnapshotFilter;
  /** Stops at the next entry (VERIFY_INTERRUPTED); verify changes nothing either way. */
  signal?: AbortSignal;
}

/**
 * Reads every archive of a snapshot and checks its digest and
 * every entry against the index; takes no lock (verifyRef does).
 */
export async function verifySnapshot(
  repo: Repository,
  snapshot: SnapshotMeta,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const sources: SourceReport[] = [];
  const broken: BrokenLink[] = [];
  for (const source of snapshot.sources)
    sources.push({
      ...(await verifySource(repo, snapshot, source, options, broken)),
      backupFindings: source.findings,
      backupFindingsTotal: source.findingsTotal,
    });
  // Beside what verify checks itself, what the backup recorded: a
  // partial or changed copy is not damage, but must not be forgotten.
  const recorded = { errors: snapshot.errors, failedSources: snapshot.failedSources ?? [] };
  const signedBy = repo.signedBy(snapshot);
  return {
    snapshot: snapshot.id,
    time: snapshot.time,
    ok: sources.every((s) => s.ok),
    status: snapshot.status,
    sources,
    contentChecked: sources.every((s) => s.contentChecked !== false),
    ...(broken.length ? { unrestorableBecause: broken } : {}),
    ...recorded,
    ...(signedBy ? { signedBy } : {}),
  };
}

/** Verifies `latest`, one id (or unique prefix), or `all` snapshots; with `all`, damaged metadata fails too. */
export async function verifyRef(repo: Repository, ref: string, options: VerifyOptions = {}): Promise<VerifyReport[]> {
  const checked: VerifyReport[] = [];
  try {
    return await repo.withReadLock('verify', options.onWarning, () => verifyUnlocked(repo, ref, options, checked));
  } catch (cause) {
    if (!options.signal?.aborted) throw cause;
    throw new VerifyError(
      VerifyErrorCode.INTERRUPTED,
      `Verify was interrupted after checking ${checked.length} snapshot(s) ` +
        `(${checked.every((r) => r.ok) ? 'all good' : 'some damaged'}); it changes nothing.`,
      {
        cause,
        hint: 'Run verify again to check the rest.',
        details: { checked: checked.map((r) => ({ snapshot: r.snapshot, ok: r.ok })) },
      },
    );
  }
}

async function verifyUnlocked(
  repo: Repository,
  ref: string,
  options: VerifyOptions,
  reports: VerifyReport[],
): Promise<VerifyReport[]> {
  const damaged: DamagedSnapshot[] = [];
  const snapshots =
    ref === 'all'
      ? (await repo.listSnapshots({ onDamaged: (d) => damaged.push(d) })).filter((s) =>
          matchesFilter(s, options.filter),
        )
      : [await repo.resolveSnapshot(ref, { filter: options.filter })];
  for (const s of snapshots) {
    options.signal?.throwIfAborted();
    reports.push(await verifySnapshot(repo, s, options));
  }
  // After the readable ones: whatever damaged metadata described cannot be checked or restored.
  for (const d of damaged)
    reports.push({
      snapshot: d.id,
      time: snapshotIdTime(d.id)?.toISOString() ?? '',
      ok: false,
      status: 'unreadable',
      sources: [],
      contentChecked: false,
      damaged: d.reason,
      damagedCode: d.code,
    });
  return reports;
}

async function verifySource(
  repo: Repository,
  snapshot: SnapshotMeta,
  source: SourceMeta,
  options: VerifyOptions,
  broken: BrokenLink[],
): Promise<SourceReport> {
  if (source.archive.encryption && !repo.keys.canDecrypt) return verifyStoredSource(repo, snapshot, source, options);
  if (source.redis) return verifyRedisSource(repo, source, options);
  const { report, problem } = startSourceReport(source);
  const isJsonl = globMatcher(options.jsonlGlobs ?? ['**/*.jsonl']);
  const maxFindings = options.maxFindings ?? 100;

  const index = new Map<string, IndexEntry>();
  try {
    for await (const e of repo.readIndex(source)) {
      // The predicates restore refuses with (restore-core's loadIndex): what it would refuse is reported here.
      const bad = indexEntryProblem(e);
      if (bad)
        problem(
          bad.escapes ? 'unsafe-path' : 'invalid-path',
          `index entry ${JSON.stringify(e.path)} ${bad.why}; a restore would refuse it`,
          e.path,
        );
      if (index.has(e.path))
        problem('bad-index', `"${e.path}" is listed twice in the index; a restore would refuse it`, e.path);
      index.set(e.path, e);
    }
  } catch (err) {
    const key = source.index?.key ?? '(no index)';
    if (!describeFailure(err, source, key, problem))
      problem('bad-index', `the entry index ${key} cannot be read: ${(err as Error).message}`);
  }
  for (const e of index.values()) {
    const below = entryPlacementProblem(e, index);
    if (below)
      problem(
        below.type === 'symlink' ? 'unsafe-path' : 'bad-index',
        `"${e.path}" lies below the ${below.type === 'symlink' ? 'symbolic link' : 'file'} ` +
          `"${below.above}"; a restore would refuse it`,
        e.path,
      );
  }

  // An incremental's unchanged files are checked in the earlier archives that hold them.
  const brokenLinks = new Set<string>();
  const content = new ContentChecker();
  // Results settle in file order (from the worker or, when it is
  // behind, the main thread), after the main thread has moved on.
  const checked: Promise<void>[] = [];
  const check = (path: string, expected: IndexEntry) => (r: FileResult) => {
    report.bytes += r.size;
    options.onProgress?.({
      source: source.name,
      entries: report.entries,
      bytes: report.bytes,
      totalBytes: source.stats.bytes,
    });
    if (r.size !== expected.size || r.sha256 !== expected.sha256)
      problem(
        'content-mismatch',
        `"${path}" does not match its recorded size and sha256; its content is damaged`,
        path,
      );
    for (const f of r.findings) if (report.findings.length < maxFindings) report.findings.push(f);
    report.findingsTotal += r.findingsTotal;
  };
  try {
    for (const link of await repo.archiveChain(snapshot, source)) {
      const own = link.holder === snapshot.id;
      if (!link.source) {
        brokenLinks.add(link.holder);
        const state = link.damaged ? 'damaged' : 'missing';
        broken.push({
          snapshot: link.holder,
          source: source.name,
          state,
          ...(link.damaged ? { reason: link.damaged } : {}),
        });
        const why = link.damaged ? `has damaged metadata (${link.damaged})` : 'is missing from the repository';
        problem(
          'missing-link',
          `snapshot ${link.holder}, which holds unchanged files of this incremental, ${why}: this snapshot ` +
            `cannot be restored because of it`,
        );
        continue;
      }
      const archiveKey = link.source.archive.key;
      try {
        for await (const a of repo.readArchive(link.source)) {
          options.signal?.throwIfAborted();
          const norm = normaliseEntryPath(a.name);
          // not needed from this link
          if (!own && ('unsafe' in norm || index.get(norm.path)?.in !== link.holder)) continue;
          if ('unsafe' in norm) {
            problem(
              norm.escapes ? 'unsafe-path' : 'invalid-path',
              `archive entry ${JSON.stringify(a.name)} ${norm.unsafe}; a restore would refuse it`,
              a.name,
            );
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
            problem(
              'type-mismatch',
              `"${norm.path}" is a ${a.type} in the archive but a ${expected.type} in the index`,
              norm.path,
            );
            continue;
          }
          if (a.type === 'symlink' && a.linkTarget !== expected.linkTarget)
            problem(
              'content-mismatch',
              `"${norm.path}" points to ${JSON.stringify(a.linkTarget)} in the archive ` +
                `but ${JSON.stringify(expected.linkTarget)} in the index`,
              norm.path,
            );
          if (a.type !== 'file') continue;
          content.begin(norm.path, isJsonl(norm.path));
          for await (const chunk of a.stream) await content.push(chunk as Buffer);
          checked.push(content.end().then(check(norm.path, expected)));
        }
      } catch (err) {
        if (content.broken) throw content.broken;
        if (options.signal?.aborted) throw err;
        brokenLinks.add(link.holder);
        const entry = (err as { details?: { entry?: string } }).details?.entry;
        const where = own ? archiveKey : `${archiveKey} (snapshot ${link.holder}, which this incremental depends on)`;
        if (!describeFailure(err, source, where, problem, own ? 'missing-blob' : 'missing-link'))
          problem('corrupt-archive', (err as Error).message, entry);
        // A damaged stream stops early; say also whether the stored bytes still match their digest.
        if ((err as { code?: string }).code === RepoErrorCode.CORRUPT_ARCHIVE) {
          const d = await digestBlob(repo.store, archiveKey).catch(() => undefined);
          if (d && d.sha256 !== link.source.archive.sha256)
            problem(
              'digest-mismatch',
              `${archiveKey} does not match its recorded sha256: the stored archive was altered`,
            );
        }
      }
    }
    await content.flush();
    await Promise.all(checked);
  } finally {
    await content.close();
  }
  for (const [missing, e] of index)
    if (!brokenLinks.has(e.in ?? snapshot.id))
      problem(
        'missing-entry',
        `"${missing}" is in the index but missing from ${e.in ? `snapshot ${e.in}'s archive` : 'the archive'}`,
        missing,
      );
  report.ok = report.problems.length === 0;
  // Only now, and only for a damaged source: the normal read stopped at the damage, this one reads past it.
  if (!report.ok) report.damage = await damageReport(repo, snapshot, source);
  return report;
}

// Maps the repository's own failures to problems; returns false for anything else.
function describeFailure(
  err: unknown,
  source: SourceMeta,
  key: string,
  problem: (k: ProblemKind, m: string) => void,
  missing: ProblemKind = 'missing-blob',
): boolean {
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
