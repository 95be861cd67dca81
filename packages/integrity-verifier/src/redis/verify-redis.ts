import {
  checkDumpPayload,
  digestBlob,
  messageKey,
  type Repository,
  RepoErrorCode,
  type SourceMeta,
} from '@drkit/repository';
import { StorageErrorCode } from '@drkit/storage';
import { startSourceReport } from '../source-report.js';
import type { SourceReport, VerifyOptions } from '../verify.js';

/**
 * Verifies a Redis source without a server: the archive's framing and digest, every DUMP
 * payload's own CRC-64 footer and RDB version, and the per-database counts of the metadata.
 * A damaged record is named by its database and key.
 */
export async function verifyRedisSource(
  repo: Repository,
  source: SourceMeta,
  options: VerifyOptions,
): Promise<SourceReport> {
  const { report, problem } = startSourceReport(source);
  const meta = source.redis!;
  const perDb = new Map<number, number>();
  let readToEnd = false;
  try {
    for await (const r of repo.readRedisRecords(source)) {
      const name = messageKey(r.key);
      const entry = `db${r.db}:${name}`;
      report.entries++;
      report.bytes += r.key.length + r.payload.length;
      perDb.set(r.db, (perDb.get(r.db) ?? 0) + 1);
      const footer = checkDumpPayload(r.payload);
      if (!footer)
        problem(
          'corrupt-record',
          `key ${name} in database ${r.db}: its DUMP payload is only ${r.payload.length} bytes, too short to be one`,
          entry,
        );
      else if (!footer.ok)
        problem(
          'corrupt-record',
          `key ${name} in database ${r.db}: its DUMP payload fails its CRC-64 check ` +
            `(stored ${footer.storedCrc.toString(16)}, computed ${footer.computedCrc.toString(16)}); the value ` +
            `is damaged`,
          entry,
        );
      else if (meta.rdbVersion !== null && footer.rdbVersion > meta.rdbVersion)
        problem(
          'corrupt-record',
          `key ${name} in database ${r.db}: RDB version ${footer.rdbVersion} is newer than ` +
            `the ${meta.rdbVersion} recorded for the snapshot`,
          entry,
        );
      if (report.entries % 10_000 === 0)
        options.onProgress?.({ source: source.name, entries: report.entries, bytes: report.bytes });
    }
    readToEnd = true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const key = (err as { details?: { key?: string } }).details?.key;
    if (code === StorageErrorCode.NOT_FOUND)
      problem('missing-blob', `${source.archive.key} of source "${source.name}" is missing from the repository`);
    else if (code === RepoErrorCode.DIGEST_MISMATCH) problem('digest-mismatch', (err as Error).message);
    else {
      problem('corrupt-archive', (err as Error).message, key);
      // Reading stopped early: say also whether the stored bytes still match their digest.
      const d = await digestBlob(repo.store, source.archive.key).catch(() => undefined);
      if (d && d.sha256 !== source.archive.sha256)
        problem(
          'digest-mismatch',
          `${source.archive.key} does not match its recorded sha256: the stored archive was altered`,
        );
    }
  }
  options.onProgress?.({ source: source.name, entries: report.entries, bytes: report.bytes });
  if (readToEnd) {
    if (report.entries !== meta.records)
      problem('count-mismatch', `the archive holds ${report.entries} keys but the metadata records ${meta.records}`);
    const dbs = new Set([...perDb.keys(), ...meta.dbs.map((d) => d.db)]);
    for (const db of [...dbs].sort((a, b) => a - b)) {
      const found = perDb.get(db) ?? 0;
      const recorded = meta.dbs.find((d) => d.db === db)?.keys ?? 0;
      if (found !== recorded)
        problem(
          'count-mismatch',
          `database ${db}: the archive holds ${found} keys but the metadata records ${recorded}`,
        );
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}
