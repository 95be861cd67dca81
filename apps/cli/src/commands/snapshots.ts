import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, printJson, say, table, warn } from '../output.js';

export async function run(_args: unknown[], opts: GlobalOptions): Promise<ExitCode> {
  const repo = await openRepo(opts, await loadConfig(opts));
  // On stderr, also with --json: stdout stays the list scripts read.
  const snaps = await repo.listSnapshots({ onDamaged: (d) => warn(`warning: snapshot ${d.id} is not listed: ${d.reason} Its data is kept; restore the file from another copy of the repository.`) });
  if (opts.json) {
    printJson(
      snaps.map((s) => ({
        id: s.id,
        time: s.time,
        host: s.host,
        kind: s.kind,
        parent: s.parent,
        base: s.base,
        status: s.status,
        tags: s.tags,
        sources: s.sources.map((x) => x.name),
        files: sum(s.sources.map((x) => x.stats.files)),
        bytes: sum(s.sources.map((x) => x.stats.bytes)),
        stored: sum(s.sources.map((x) => x.archive.size + (x.index?.size ?? 0))),
      })),
    );
    return ExitCode.OK;
  }
  if (snaps.length === 0) {
    say('no snapshots yet (make one with `drkit backup`)');
    return ExitCode.OK;
  }
  const rows = snaps.map((s) => [
    s.id,
    s.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    s.host,
    s.kind === 'full' ? 'full' : 'incr',
    s.status,
    s.sources.map((x) => x.name).join(','),
    bytes(sum(s.sources.map((x) => x.stats.bytes))),
    s.tags.join(','),
  ]);
  table(['ID', 'TIME', 'HOST', 'KIND', 'STATUS', 'SOURCES', 'SIZE', 'TAGS'], rows);
  return ExitCode.OK;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
