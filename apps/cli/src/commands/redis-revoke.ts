import { countKeys, type DbCount, RedisConnection, type RedisConnectionOptions } from '@drkit/redis-source';
import { unlinkKeys } from '@drkit/redis-source';
import { loadConfig, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, progressLine, say, warn } from '../output.js';
import { configRedisSource, redisConnectionOf } from '../redis-options.js';

interface RevokeFlags extends GlobalOptions {
  redis?: string;
  source?: string;
  pattern?: string;
  /** Parsed and checked by flags.ts. */
  db: number[];
  yes?: boolean;
}

const total = (xs: DbCount[]) => xs.reduce((a, d) => a + d.keys, 0);

/** Breach runbook: count the matching keys, and only with --yes UNLINK them in batches. */
export async function run(_args: unknown[], opts: RevokeFlags): Promise<ExitCode> {
  if (!opts.pattern && opts.db.length === 0)
    throw usage(
      'Say which keys to delete: --pattern GLOB, --db N, or both.',
      "e.g. drkit redis revoke-tokens --redis redis://host:6379 --pattern 'token:*'; --db N alone deletes " +
        'every key of that database.',
    );
  const dbs = opts.db;
  const conn = await RedisConnection.open(await targetOf(opts));
  try {
    const selection = {
      ...(opts.pattern ? { pattern: opts.pattern } : {}),
      ...(dbs.length ? { dbs } : conn.defaultDb !== undefined ? { dbs: [conn.defaultDb] } : {}),
    };
    const what = `${opts.pattern ? `keys matching ${JSON.stringify(opts.pattern)}` : 'every key'}`;
    const matched = await countKeys(conn, selection);
    if (!opts.yes) {
      if (opts.json)
        printJson({
          server: conn.label,
          pattern: opts.pattern ?? null,
          matched,
          total: total(matched),
          removed: 0,
          confirmed: false,
        });
      else {
        say(`${conn.label}: ${total(matched)} ${what}`);
        for (const d of matched) say(`  db ${d.db}: ${d.keys}`);
        warn('nothing was removed: run again with --yes to remove them');
      }
      return ExitCode.USAGE;
    }
    const progress = progressLine(!opts.json);
    const removed = await unlinkKeys(conn, selection, (p) =>
      progress.update(`removing ${what} in db ${p.db}: ${p.keys}`),
    );
    progress.done();
    if (opts.json)
      printJson({
        server: conn.label,
        pattern: opts.pattern ?? null,
        matched,
        removed,
        total: total(removed),
        confirmed: true,
      });
    else {
      for (const d of removed) say(`  db ${d.db}: removed ${d.keys}`);
      say(`removed ${total(removed)} ${what} from ${conn.label}`);
    }
    return ExitCode.OK;
  } finally {
    await conn.close();
  }
}

async function targetOf(opts: RevokeFlags): Promise<RedisConnectionOptions> {
  if (opts.redis) return { url: opts.redis };
  const config = await loadConfig(opts);
  const redisSources = config?.sources.filter((s) => s.type === 'redis') ?? [];
  const name = opts.source ?? (redisSources.length === 1 ? redisSources[0]!.name : undefined);
  const configured = name ? configRedisSource(config, name) : undefined;
  if (!configured)
    throw usage(
      opts.source
        ? `The config has no redis source named "${opts.source}".`
        : 'Which Redis? No --redis URL was given and the config does not name exactly one redis source.',
      'Pass --redis redis://[:password@]host:port (or set DRKIT_REDIS_URL), or --source NAME of a redis ' +
        'source in drkit.config.yaml.',
    );
  const target = redisConnectionOf(configured);
  if (target.sentinel) target.sentinel.readFrom = 'master';
  return target;
}
