import { type FileSource, runBackup, sourcesFromPaths } from '@drkit/backup-core';
import pkg from '../../package.json' with { type: 'json' };
import { loadConfig, openRepo, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, printJson, progressLine, say, warn } from '../output.js';

interface BackupFlags extends GlobalOptions {
  tag: string[];
  exclude: string[];
}

export async function run([paths]: unknown[], opts: BackupFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const adHoc = paths as string[];
  const sources: FileSource[] = adHoc.length
    ? sourcesFromPaths(adHoc).map((s) => ({ ...s, exclude: opts.exclude }))
    : (config?.sources ?? []).map((s) => ({ name: s.name, type: 'files', path: s.path, include: s.include, exclude: s.exclude }));
  if (sources.length === 0) throw usage('Nothing to back up.', 'Pass paths (`drkit backup /srv/data`) or list sources in drkit.config.yaml.');
  const repo = await openRepo(opts, config);
  const started = Date.now();
  const progress = progressLine(!opts.json);
  const result = await runBackup(repo, {
    sources,
    tags: opts.tag,
    jsonlGlobs: config?.validation?.jsonl,
    toolVersion: `drkit ${pkg.version}`,
    onProgress: (p) => progress.update(`backing up ${p.source}: ${p.files} files, ${bytes(p.bytes)}  ${p.path}`),
  });
  progress.done();
  const snap = result.snapshot;
  const durationMs = Date.now() - started;
  if (opts.json) {
    printJson({ id: snap.id, time: snap.time, status: result.status, tags: snap.tags, durationMs, sources: snap.sources.map((s) => ({ name: s.name, ...s.stats, stored: s.archive.size + (s.index?.size ?? 0), compression: s.archive.compression, findings: s.findingsTotal })), warnings: result.warnings, errors: result.errors, notes: result.notes });
  } else {
    for (const n of result.notes) warn(`note: ${n}`);
    for (const w of result.warnings.slice(0, 20)) warn(`warning: ${w.message}`);
    if (result.warnings.length > 20) warn(`warning: … and ${result.warnings.length - 20} more (see --json)`);
    for (const e of result.errors) warn(`error: ${e.message}`);
    for (const s of snap.sources)
      say(`  ${s.name}: ${s.stats.files} files, ${s.stats.dirs} dirs, ${s.stats.symlinks} symlinks, ${bytes(s.stats.bytes)} → ${bytes(s.archive.size + (s.index?.size ?? 0))} stored (${s.archive.compression})`);
    say(`snapshot ${snap.id} saved${result.status === 'partial' ? ` PARTIAL: ${result.errors.length} path(s) could not be read` : ''} in ${(durationMs / 1000).toFixed(1)}s`);
  }
  return result.status === 'partial' ? ExitCode.PARTIAL_BACKUP : ExitCode.OK;
}
