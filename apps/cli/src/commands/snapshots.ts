import { matchesFilter, type SnapshotMeta } from '@drkit/repository';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { age, bytes, type GlobalOptions, printJson, say, table, warn } from '../output.js';
import { type FilterFlags, filterOf } from '../selection.js';

export async function run(_args: unknown[], opts: GlobalOptions & FilterFlags): Promise<ExitCode> {
  const repo = await openRepo(opts, await loadConfig(opts));
  // On stderr, also with --json: stdout stays the list scripts read.
  const all = await repo.listSnapshots({
    onDamaged: (d) =>
      warn(
        `warning: snapshot ${d.id} is not listed: ${d.reason} Its data is kept; restore the file from ` +
          `another copy of the repository.`,
      ),
  });
  const filter = filterOf(opts);
  const snaps = all.filter((s) => matchesFilter(s, filter));
  const now = Date.now();
  if (opts.json) {
    printJson(
      snaps.map((s) => ({
        id: s.id,
        time: s.time,
        ageSeconds: Math.max(0, Math.floor((now - Date.parse(s.time)) / 1000)),
        host: s.host,
        kind: s.kind,
        parent: s.parent,
        base: s.base,
        status: s.status,
        tags: s.tags,
        sources: s.sources.map((x) => x.name),
        paths: s.sources.flatMap((x) => (x.origin ? [x.origin] : [])),
        files: sum(s.sources.map((x) => x.stats.files)),
        bytes: sum(s.sources.map((x) => x.stats.bytes)),
        stored: sum(s.sources.map((x) => x.archive.size + (x.index?.size ?? 0))),
        findingsTotal: findingsTotal(s),
        findings: s.sources.flatMap((x) => x.findings.map((f) => ({ source: x.name, ...f }))),
        errors: s.errors,
        failedSources: s.failedSources ?? [],
        // Only a pinned key makes a signature mean something; then every snapshot listed was checked.
        ...(repo.trust ? { signedBy: repo.signedBy(s) } : {}),
      })),
    );
    return ExitCode.OK;
  }
  if (snaps.length === 0) {
    say(all.length ? 'no snapshot matches the filter' : 'no snapshots yet (make one with `drkit backup`)');
    return ExitCode.OK;
  }
  const rows = snaps.map((s) => [
    s.id,
    s.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    age(now - Date.parse(s.time)),
    s.host,
    s.kind === 'full' ? 'full' : 'incr',
    s.status,
    s.sources.map((x) => x.name).join(','),
    bytes(sum(s.sources.map((x) => x.stats.bytes))),
    String(findingsTotal(s)),
    s.tags.join(','),
  ]);
  table(['ID', 'TIME', 'AGE', 'HOST', 'KIND', 'STATUS', 'SOURCES', 'SIZE', 'FINDINGS', 'TAGS'], rows);
  // What made each partial snapshot partial, so it is never mistaken for a whole one.
  for (const s of snaps) {
    if (s.status !== 'partial') continue;
    const failed = (s.failedSources ?? []).map((f) => `source ${f.name} failed (${f.code})`);
    const unread = s.errors.length ? [`${s.errors.length} path(s) or key(s) could not be read`] : [];
    say(
      `${s.id} is partial: ${[...failed, ...unread].join('; ')} (details: drkit snapshots --json, drkit ` +
        `verify ${s.id})`,
    );
  }
  return ExitCode.OK;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

const findingsTotal = (s: SnapshotMeta) => sum(s.sources.map((x) => x.findingsTotal));
