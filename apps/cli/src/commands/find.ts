import { DrkitError } from '@drkit/errors';
import { describeFilter, globMatcher, type IndexEntry, matchesFilter } from '@drkit/repository';
import { CliErrorCode, loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, outputClosed, printJson, say, shownName, warn } from '../output.js';
import { type FilterFlags, filterOf } from '../selection.js';

interface FindFlags extends GlobalOptions, FilterFlags {
  newest?: number;
}

export async function run([patterns]: unknown[], opts: FindFlags): Promise<ExitCode> {
  const globs = patterns as string[];
  const repo = await openRepo(opts, await loadConfig(opts));
  const filter = filterOf(opts);
  const all = await repo.listSnapshots({
    onDamaged: (d) => warn(`warning: snapshot ${d.id} is not searched: ${d.reason}`),
  });
  const newestFirst = all.filter((s) => matchesFilter(s, filter)).reverse();
  const searched = opts.newest === undefined ? newestFirst : newestFirst.slice(0, opts.newest);
  // As restic's find: a pattern without '/' is a name anywhere, one with '/' a path.
  const matcher = (gs: string[]) => (gs.length ? globMatcher(gs) : () => false);
  const byName = matcher(globs.filter((g) => !g.includes('/')));
  const byPath = matcher(globs.filter((g) => g.includes('/')).map((g) => g.replace(/^\//, '')));
  const matches = (e: IndexEntry) => byPath(e.path) || byName(e.path.slice(e.path.lastIndexOf('/') + 1));
  // --source also narrows the search to those sources, as on ls and restore.
  const only = filter.sources && new Set(filter.sources);
  const hits: Array<{ snapshot: string; time: string; host: string; source: string } & IndexEntry> = [];
  for (const snap of searched) {
    let first = true;
    for (const source of snap.sources) {
      // a Redis source has keys, not paths: `drkit ls ID --source NAME GLOB`
      if (!source.index || (only && !only.has(source.name))) continue;
      for await (const e of repo.readIndex(source)) {
        if (outputClosed()) return ExitCode.OK;
        if (!matches(e)) continue;
        const { path, type, size, mtime, mode, sha256, linkTarget } = e;
        hits.push({
          snapshot: snap.id,
          time: snap.time,
          host: snap.host,
          source: source.name,
          path,
          type,
          size,
          mtime,
          mode,
          sha256,
          linkTarget,
        });
        if (opts.json) continue;
        if (first)
          say(
            `${hits.length > 1 ? '\n' : ''}snapshot ${snap.id} of ` +
              `${snap.time.replace('T', ' ').slice(0, 19)} on ${snap.host}:`,
          );
        first = false;
        const shownSize = type === 'file' ? bytes(size ?? 0) : type;
        say(
          `  ${shownSize.padStart(10)}  ${new Date(mtime).toISOString().replace('T', ' ').slice(0, 19)}  ` +
            `${source.name}/${shownName(path)}`,
        );
      }
    }
  }
  if (hits.length === 0) {
    const among = describeFilter(filter);
    throw new DrkitError(
      CliErrorCode.NO_MATCH,
      `No path in ${searched.length} snapshot(s)${among ? ` of ${among}` : ''} ` +
        `matches ${globs.map((g) => JSON.stringify(g)).join(', ')}.`,
      {
        hint:
          "A pattern without '/' matches a file or folder name (`app.json`, `*.jsonl`); one with '/' the " +
          'whole path inside its source (`config/**`). `drkit ls latest` shows the paths.',
      },
    );
  }
  if (opts.json) printJson(hits);
  return ExitCode.OK;
}
