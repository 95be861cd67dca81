import { executeRestore, formatPlan, originsOf, planRestore, type SalvageReport } from '@drkit/restore-core';
import { loadConfig, openRepo, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { bytes, type GlobalOptions, printJson, say, shownName, warn } from '../output.js';
import { transferProgress } from '../progress.js';
import { originLines } from '../restore-origins.js';
import { type FilterFlags, resolveRef } from '../selection.js';

interface RestoreFlags extends GlobalOptions, FilterFlags {
  target?: string;
  redis?: string;
  mode?: 'replace' | 'merge';
  yes?: boolean;
  source: string[];
  include: string[];
  db: number[];
  overwrite?: 'never' | 'if-changed' | 'always';
  dryRun?: boolean;
  salvage?: boolean;
  delete?: boolean;
}

export async function run([ref]: unknown[], opts: RestoreFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  // Resolved once, here: --source also chooses among snapshots, and `latest` is this config's latest.
  const snapshot = await resolveRef(repo, ref as string, opts, config);
  // A Redis source restores into a server, not a folder.
  const redis = await (await import('./redis-restore.js')).restoreRedisIfAsked(repo, config, snapshot, opts);
  if (redis !== undefined) return redis;
  if (!opts.target)
    throw usage(
      '--target DIR is required to restore file sources.',
      'Name the folder to restore into, e.g. --target /srv/restored.',
    );
  if (opts.db.length)
    throw usage('--db is for restoring a Redis source.', 'Add --source NAME of a Redis source of this snapshot.');
  const plan = await planRestore(repo, {
    snapshot: snapshot.id,
    target: opts.target,
    ...(opts.source.length ? { sources: opts.source } : {}),
    ...(opts.include.length ? { include: opts.include } : {}),
    ...(opts.overwrite ? { overwrite: opts.overwrite } : {}),
    ...(opts.salvage ? { salvage: true } : {}),
    ...(opts.delete ? { delete: true } : {}),
  });
  if (opts.dryRun) {
    const from = originsOf(
      snapshot,
      plan.sources.map((l) => l.name),
    );
    if (opts.json) printJson({ dryRun: true, plan, from });
    else {
      for (const line of originLines(from)) say(line);
      say(formatPlan(plan, { showName: shownName }));
    }
    return ExitCode.OK;
  }
  const progress = transferProgress(!opts.json);
  const result = await executeRestore(repo, plan, {
    onProgress: (p) => progress.update(`restoring ${p.files} files,`, p.bytes, p.totalBytes, p.path),
    onWarning: (message) => warn(`warning: ${message}`),
    signal: stopsSafely(
      'its staging folder (.drkit-restore-*) beside the target, and a target part-way restored if moving ' +
        'had begun: the next restore there removes the folder and finishes',
    ),
  });
  progress.done();
  if (opts.json) printJson(result);
  else {
    const { written: w, mtimeOnly: t, skipped: k } = result;
    say(
      `restored snapshot ${plan.snapshot} into ${plan.target}: ${w.files} files ` +
        `(${bytes(w.bytes)}), ${w.dirs} dirs, ${w.symlinks} symlinks`,
    );
    if (t.files + t.dirs + t.symlinks > 0)
      say(`  content kept, mtime set: ${t.files} files, ${t.dirs} dirs, ${t.symlinks} symlinks`);
    for (const line of originLines(result.from)) say(line);
    if (k.files + k.dirs + k.symlinks > 0)
      say(`  kept as they were: ${k.files} files, ${k.dirs} dirs, ${k.symlinks} symlinks`);
    if (result.removed) say(`  removed ${result.removed.length} path(s) the snapshot does not hold`);
    if (result.salvage) for (const line of salvageLines(result.salvage)) say(line);
  }
  // A salvage that lost anything must never pass for a complete restore.
  return result.salvage && result.salvage.lost.length + result.salvage.unverified.length > 0
    ? ExitCode.SALVAGED
    : ExitCode.OK;
}

/** What a salvage found damaged and what it cost, for people. */
function salvageLines(report: SalvageReport): string[] {
  const lines: string[] = [];
  for (const d of report.damaged) {
    const ranges = d.spans.map((s) => `${s.start}–${s.end - 1}`).join(', ');
    lines.push(
      `damaged: ${d.key} (source "${d.source}")` +
        `${ranges ? `, bytes ${ranges}` : ': its sha256 does not match, but every entry read from it did'}`,
    );
  }
  for (const l of report.lost)
    lines.push(`lost: ${shownName(l.path)} (${l.type}${l.type === 'file' ? `, ${bytes(l.size)}` : ''}): ${l.reason}`);
  for (const u of report.unverified)
    lines.push(
      `not restored: ${shownName(u.name)} (source "${u.source}"): its line in the damaged index is lost, so there is ` +
        `nothing to check it against`,
    );
  const missing = report.lost.length + report.unverified.length;
  lines.push(
    missing
      ? `salvage: ${missing} path(s) not restored; everything else was restored and checked`
      : report.damaged.length
        ? 'salvage: nothing was lost'
        : 'salvage: no damage found',
  );
  return lines;
}
