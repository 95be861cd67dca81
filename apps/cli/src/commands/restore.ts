import { executeRestore, formatPlan, planRestore } from '@drkit/restore-core';
import { loadConfig, openRepo, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { bytes, type GlobalOptions, printJson, progressLine, say, warn } from '../output.js';

interface RestoreFlags extends GlobalOptions {
  target?: string;
  redis?: string;
  mode?: 'replace' | 'merge';
  yes?: boolean;
  source: string[];
  include: string[];
  overwrite?: 'never' | 'if-changed' | 'always';
  dryRun?: boolean;
}

export async function run([ref]: unknown[], opts: RestoreFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  // A Redis source restores into a server, not a folder.
  const redis = await (await import('./redis-restore.js')).restoreRedisIfAsked(repo, config, ref as string, opts);
  if (redis !== undefined) return redis;
  if (!opts.target) throw usage('--target DIR is required to restore file sources.', 'Name the folder to restore into, e.g. --target /srv/restored.');
  const plan = await planRestore(repo, {
    snapshot: ref as string,
    target: opts.target,
    ...(opts.source.length ? { sources: opts.source } : {}),
    ...(opts.include.length ? { include: opts.include } : {}),
    ...(opts.overwrite ? { overwrite: opts.overwrite } : {}),
  });
  if (opts.dryRun) {
    if (opts.json) printJson({ dryRun: true, plan });
    else say(formatPlan(plan));
    return ExitCode.OK;
  }
  const progress = progressLine(!opts.json);
  const result = await executeRestore(repo, plan, {
    onProgress: (p) => progress.update(`restoring ${p.files} files, ${bytes(p.bytes)} of ${bytes(p.totalBytes)}  ${p.path}`),
    onWarning: (message) => warn(`warning: ${message}`),
    signal: stopsSafely('its staging folder (.drkit-restore-*) beside the target, and a target part-way restored if moving had begun: the next restore there removes the folder and finishes'),
  });
  progress.done();
  if (opts.json) printJson(result);
  else {
    const { written: w, mtimeOnly: t, skipped: k } = result;
    say(`restored snapshot ${plan.snapshot} into ${plan.target}: ${w.files} files (${bytes(w.bytes)}), ${w.dirs} dirs, ${w.symlinks} symlinks`);
    if (t.files + t.dirs + t.symlinks > 0) say(`  content kept, mtime set: ${t.files} files, ${t.dirs} dirs, ${t.symlinks} symlinks`);
    if (k.files + k.dirs + k.symlinks > 0) say(`  kept as they were: ${k.files} files, ${k.dirs} dirs, ${k.symlinks} symlinks`);
  }
  return ExitCode.OK;
}
