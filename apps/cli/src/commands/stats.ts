import { repositoryStats, type SizeCount } from '@drkit/repository';
import { parseDuration } from '@drkit/config/duration';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { bytes, type GlobalOptions, printJson, say, table } from '../output.js';

export async function run(_args: unknown[], opts: GlobalOptions & { window?: number }): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const keepWithin = config?.retention?.keep_within;
  const windowMs = opts.window ?? (keepWithin ? parseDuration(keepWithin) : undefined);
  const stats = await repositoryStats(repo, { now: new Date(), windowMs });
  if (opts.json) {
    printJson(stats);
    return ExitCode.OK;
  }
  say(
    `repository ${stats.location}: ${bytes(stats.data.bytes)} in ${stats.data.blobs} ` +
      `blob(s), ${stats.snapshots} snapshot(s)`,
  );
  if (stats.oldest) say(`oldest ${stats.oldest}, newest ${stats.newest}`);
  const row = (name: string, c: SizeCount) => [name, String(c.snapshots), bytes(c.stored), bytes(c.bytes)];
  table(
    ['', 'SNAPSHOTS', 'STORED', 'HOLDS'],
    [
      row('full', stats.byKind.full),
      row('incremental', stats.byKind.incremental),
      ...Object.entries(stats.bySource).map(([name, c]) => row(`source ${name}`, c)),
    ],
  );
  say(`chains: ${stats.chains.count}, longest ${stats.chains.longest} snapshot(s) (a full and its incrementals)`);
  say(
    `growth: ${bytes(stats.growth.storedPerDay)} stored per day over the last ${stats.growth.days} day(s) ` +
      `(window ${stats.growth.windowDays}d)`,
  );
  const p = stats.prunable;
  say(
    p.blobs
      ? `a prune would free ${bytes(p.bytes)} now: ${p.blobs} blob(s) of ${p.snapshots} snapshot(s) no longer ` +
          `listed (drkit forget --prune)`
      : 'a prune would free nothing now',
  );
  return ExitCode.OK;
}
