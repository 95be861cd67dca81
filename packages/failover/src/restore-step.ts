import { verifySnapshot } from '@drkit/integrity-verifier';
import type { Repository, SnapshotMeta } from '@drkit/repository';
import { executeRestore, planRestore, restoreRedis } from '@drkit/restore-core';
import { FailoverError, FailoverErrorCode } from './errors.js';

export interface RestoreChoice {
  snapshot: SnapshotMeta;
  /** Snapshots newer than it that failed verification (latest:clean), newest first. */
  skipped: { id: string; why: string }[];
}

/**
 * The snapshot `ref` names among those holding every one of `sources`: `latest:clean` is the
 * newest that `drkit verify --mark-clean` tagged clean and that still verifies clean now (every
 * archive read and checked again: a clean tag is a past fact); `latest`, `latest:TAG`, an id or a
 * prefix resolve as restore resolves them.
 */
export async function chooseSnapshot(repo: Repository, sources: string[], ref: string): Promise<RestoreChoice> {
  if (ref !== 'latest:clean')
    return { snapshot: await repo.resolveSnapshot(ref, { filter: { sources } }), skipped: [] };
  const all = (await repo.listSnapshots()).filter(
    (s) =>
      s.status === 'complete' &&
      s.tags.includes('clean') &&
      sources.every((name) => s.sources.some((x) => x.name === name)),
  );
  all.sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const skipped: RestoreChoice['skipped'] = [];
  for (const snapshot of all) {
    const report = await repo.withReadLock('failover', undefined, () => verifySnapshot(repo, snapshot));
    if (report.ok) return { snapshot, skipped };
    skipped.push({
      id: snapshot.id,
      why:
        report.damaged ??
        report.sources
          .flatMap((s) => s.problems.map((p) => `${s.name}: ${p.kind}`))
          .slice(0, 3)
          .join('; '),
    });
  }
  throw new FailoverError(
    FailoverErrorCode.STEP_FAILED,
    `No snapshot holding ${sources.join(', ')} is tagged clean and verifies ` +
      `clean${skipped.length ? ` (${skipped.length} checked, all damaged now)` : ' (none is tagged clean)'}.`,
    {
      hint:
        'Verify backups as they are made (drkit verify --mark-clean latest); or name a snapshot by id in the ' +
        'restore step (snapshot: <id>).',
      details: { skipped },
    },
  );
}

export interface RestoreOutcome {
  snapshot: string;
  snapshotTime: string;
  /** The data-loss window: how old the restored snapshot was when the restore finished (ms). */
  rpoMs: number;
  restored: { source: string; target: string; detail: string }[];
  skipped: RestoreChoice['skipped'];
}

/** Restores each source into its target: a folder (files overwritten when changed) or a Redis server (replace). */
export async function restoreSources(
  repo: Repository,
  step: { sources: string[]; snapshot: string; target: Record<string, string> },
  now: () => number,
): Promise<RestoreOutcome> {
  const { snapshot, skipped } = await chooseSnapshot(repo, step.sources, step.snapshot);
  const restored: RestoreOutcome['restored'] = [];
  for (const name of step.sources) {
    const source = repo.source(snapshot, name);
    const target = step.target[name]!;
    if (source?.redis) {
      const result = await restoreRedis(repo, {
        snapshot: snapshot.id,
        source: name,
        target: { url: target },
        mode: 'replace',
        confirm: true,
      });
      restored.push({ source: name, target: result.target, detail: `${result.restored} keys` });
    } else {
      const plan = await planRestore(repo, { snapshot: snapshot.id, target, sources: [name], overwrite: 'if-changed' });
      const result = await executeRestore(repo, plan);
      restored.push({
        source: name,
        target,
        detail: `${result.written.files} files written, ${result.mtimeOnly.files + result.skipped.files} unchanged`,
      });
    }
  }
  return {
    snapshot: snapshot.id,
    snapshotTime: snapshot.time,
    rpoMs: now() - Date.parse(snapshot.time),
    restored,
    skipped,
  };
}
