import type { DrkitConfig } from '@drkit/config';
import type { RedisConnectionOptions } from '@drkit/redis-source';
import type { Repository, SnapshotMeta } from '@drkit/repository';
import { originsOf, type RedisRestoreMode, type RedisRestorePlan, restoreRedis } from '@drkit/restore-core';
import { usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, progressLine, say, warn } from '../output.js';
import { stopsSafely } from '../interrupt.js';
import { configRedisSource, redisConnectionOf } from '../redis-options.js';
import { originLines } from '../restore-origins.js';

interface RedisRestoreFlags extends GlobalOptions {
  source: string[];
  target?: string;
  include: string[];
  db: number[];
  redis?: string;
  mode?: RedisRestoreMode;
  yes?: boolean;
  dryRun?: boolean;
  salvage?: boolean;
}

/** Restores a Redis source when `--source` names one (or Redis flags are given); undefined otherwise. */
export async function restoreRedisIfAsked(
  repo: Repository,
  config: DrkitConfig | undefined,
  snapshot: SnapshotMeta,
  opts: RedisRestoreFlags,
): Promise<ExitCode | undefined> {
  const redisFlags = opts.redis !== undefined || opts.mode !== undefined || opts.yes === true || opts.db.length > 0;
  if (opts.source.length !== 1 && !redisFlags) return undefined;
  const named = opts.source.length === 1 ? repo.source(snapshot, opts.source[0]!) : undefined;
  if (!named?.redis) {
    if (!redisFlags) return undefined;
    const redisNames = snapshot.sources.filter((s) => s.redis).map((s) => s.name);
    throw usage(
      '--redis, --mode, --db and --yes are for restoring one Redis source.',
      redisNames.length
        ? `Add --source ${redisNames[0]} (this snapshot's Redis sources: ${redisNames.join(', ')}).`
        : `Snapshot ${snapshot.id} has no Redis source.`,
    );
  }
  if (opts.target)
    throw usage(
      `Source "${named.name}" is a Redis source: --target is for file sources.`,
      'Use --redis URL (or the config source of that name) and --mode replace|merge.',
    );
  if (!opts.mode)
    throw usage(
      `Say how to restore Redis source "${named.name}": --mode replace or --mode merge.`,
      'replace empties each restored database first (needs --yes); merge keeps keys the snapshot does not have.',
    );
  const target = targetOf(config, named.name, opts.redis, named.origin);
  const progress = progressLine(!opts.json);
  const result = await restoreRedis(repo, {
    snapshot: snapshot.id,
    source: named.name,
    target,
    mode: opts.mode,
    ...(opts.include.length ? { include: opts.include } : {}),
    ...(opts.db.length ? { dbs: opts.db } : {}),
    confirm: opts.yes === true,
    dryRun: opts.dryRun === true,
    ...(opts.salvage ? { salvage: true } : {}),
    onProgress: (p) => progress.update(`restoring ${named.name}: ${p.restored} of ${p.records} keys  ${p.key}`),
    onWarning: (message) => warn(`warning: ${message}`),
    ...(opts.dryRun ? {} : { signal: stopsSafely('databases part-way restored: run the same restore again') }),
  });
  progress.done();
  const from = originsOf(snapshot, [named.name]);
  if (opts.json) {
    printJson(opts.dryRun ? { dryRun: true, plan: planOnly(result), from } : { ...result, from });
    return ExitCode.OK;
  }
  for (const line of originLines(from)) say(line);
  // --salvage got here only because the archive is intact (a damaged one is refused first).
  const salvaged = result.salvage ? 'salvage: no damage found' : undefined;
  if (opts.dryRun) {
    say(describePlan(result));
    if (salvaged) say(salvaged);
    say('dry run: nothing was written');
    return ExitCode.OK;
  }
  say(describePlan(result));
  say(
    `restored ${result.restored} keys of snapshot ${result.snapshot} into ${result.target} ` +
      `in ${(result.durationMs / 1000).toFixed(1)}s`,
  );
  if (result.skippedExpired) say(`  skipped ${result.skippedExpired} key(s) whose expiry had already passed`);
  if (salvaged) say(salvaged);
  warn(`note: ${result.note}`);
  return ExitCode.OK;
}

function targetOf(
  config: DrkitConfig | undefined,
  name: string,
  url: string | undefined,
  origin: string | undefined,
): RedisConnectionOptions {
  if (url) return { url };
  const configured = configRedisSource(config, name);
  if (!configured)
    throw usage(
      `Where should Redis source "${name}" be restored? It is not a redis source of the ` +
        `config${origin ? ` (it was backed up from ${origin})` : ''}.`,
      'Pass --redis redis://[:password@]host:port (or set DRKIT_REDIS_URL).',
    );
  const target = redisConnectionOf(configured);
  // Restores write, so they go to the master even when backups read a replica.
  if (target.sentinel) target.sentinel.readFrom = 'master';
  return target;
}

function planOnly(r: RedisRestorePlan): RedisRestorePlan {
  const { snapshot, source, target, mode, dryRun, records, dbs, selection, flush, rdb, sourceServer, note } = r;
  return {
    snapshot,
    source,
    target,
    mode,
    dryRun,
    records,
    dbs,
    ...(selection ? { selection } : {}),
    flush,
    rdb,
    sourceServer,
    note,
  };
}

function describePlan(p: RedisRestorePlan): string {
  const lines = [
    `restore Redis source "${p.source}" of snapshot ${p.snapshot} into ${p.target} (mode ${p.mode})`,
    ...(p.selection
      ? [
          `  only ${[
            p.selection.include && `keys matching ${p.selection.include.join(', ')}`,
            p.selection.dbs && `database(s) ${p.selection.dbs.join(', ')}`,
          ]
            .filter(Boolean)
            .join(' in ')}`,
        ]
      : []),
    `  ${p.records} keys from Redis ${p.sourceServer} (RDB ${p.rdb.snapshot ?? '–'}); target ` +
      `Redis ${p.rdb.targetServer} reads RDB ${p.rdb.target ?? 'unknown'} (found by ${p.rdb.how})`,
  ];
  for (const d of p.dbs)
    lines.push(
      `  db ${d.db}: ${d.keys} keys to restore; the target holds ${d.targetKeys} ` +
        `now${p.flush.includes(d.db) ? ', emptied first (FLUSHDB)' : ''}`,
    );
  return lines.join('\n');
}
