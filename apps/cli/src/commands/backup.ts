import v8 from 'node:v8';
import { type BackupResult, type FileSource, type RedisSource, runBackup, sourcesFromPaths } from '@drkit/backup-core';
import pkg from '../../package.json' with { type: 'json' };
import { parseDuration } from '@drkit/config/duration';
import { hostCacheDir, loadConfig, openRepo, usage } from '../context.js';
import { loadSigningKey } from '../keys.js';
import { redisSourceOf } from '../redis-options.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { lockNotes } from '../lock-notes.js';
import { bytes, type GlobalOptions, printJson, say, warn } from '../output.js';
import { transferProgress } from '../progress.js';

interface BackupFlags extends GlobalOptions {
  tag: string[];
  exclude: string[];
  redis?: string;
  emergency?: boolean;
  full?: boolean;
  rehash?: boolean;
  /** Parsed by flags.ts. */
  time?: Date;
  /** ms, parsed by flags.ts. */
  wait: number;
  cacheDir?: string;
  /** false with --no-cache. */
  cache: boolean;
  signingKey?: string;
}

export async function run([paths]: unknown[], opts: BackupFlags): Promise<ExitCode> {
  // V8 grows its young generation up to 2 x 16 MiB while a backup streams through short-lived
  // buffers; keeping it at its start size cut peak RSS of a 1 GiB backup by ~35 MiB (175 -> 140)
  // for ~2 % more time. Backup only: a restore, whose plan and index stay in the old generation,
  // then promoted enough to mark-compact ~60 times instead of twice (~1.5 s more CPU).
  // A sizing flag, read each time the young generation would grow.
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  const config = await loadConfig(opts);
  const adHoc = paths as string[];
  // --redis is an ad-hoc source like a path: either replaces the config's sources.
  const sources: Array<FileSource | RedisSource> =
    adHoc.length || opts.redis
      ? [
          ...sourcesFromPaths(adHoc).map((s) => ({ ...s, exclude: opts.exclude })),
          ...(opts.redis ? [adHocRedis(opts.redis)] : []),
        ]
      : (config?.sources ?? []).map((s) =>
          s.type === 'redis'
            ? redisSourceOf(s)
            : { name: s.name, type: 'files', path: s.path, include: s.include, exclude: s.exclude },
        );
  if (sources.length === 0)
    throw usage('Nothing to back up.', 'Pass paths (`drkit backup /srv/data`) or list sources in drkit.config.yaml.');
  let stored = 0;
  const cacheDir = opts.cache ? (opts.cacheDir ?? hostCacheDir()) : undefined;
  const repo = await openRepo(opts, config, (m) => (stored = m.written), {
    signingKey: await loadSigningKey(opts.signingKey, config),
    cacheDir: cacheDir ?? null,
  });
  const started = Date.now();
  const progress = transferProgress(!opts.json);
  const result = await runBackup(repo, {
    sources,
    tags: opts.tag,
    emergency: opts.emergency === true,
    full: opts.full === true,
    time: opts.time,
    rehash: opts.rehash === true || config?.backup?.rehash === true,
    fullEveryMs: config?.backup?.full_every ? parseDuration(config.backup.full_every) : undefined,
    jsonlGlobs: config?.validation?.jsonl,
    toolVersion: `drkit ${pkg.version}`,
    waitMs: opts.wait,
    cacheDir,
    ...lockNotes,
    signal: stopsSafely(
      "this backup's lock and unfinished data: the next backup (or `drkit unlock`) on this host removes them",
    ),
    // Against the parent's size when there is one (restic's estimate): a percentage and an ETA.
    onProgress: (p) =>
      p.expectedBytes !== undefined
        ? progress.update(
            `backing up ${p.source}: ${p.files} files, ${bytes(stored)} stored;`,
            p.bytes,
            p.expectedBytes,
            p.path,
          )
        : progress.update(
            `backing up ${p.source}: ${p.keys !== undefined ? `${p.keys} keys` : `${p.files} files`}, ` +
              `${bytes(p.bytes)} read; stored`,
            stored,
            undefined,
            p.path,
          ),
  });
  progress.done();
  const snap = result.snapshot;
  const durationMs = Date.now() - started;
  if (opts.json) {
    // failedSources is what the notify/scheduler side raises an incident from: each failed source, its code and reason.
    printJson({
      id: snap.id,
      time: snap.time,
      host: snap.host,
      kind: snap.kind,
      parent: snap.parent,
      base: snap.base,
      chain: result.chain,
      read: result.read,
      files: result.files,
      added: result.added,
      status: result.status,
      tags: snap.tags,
      durationMs,
      sources: snap.sources.map((s) => ({
        name: s.name,
        origin: s.origin,
        ...s.stats,
        stored: s.archive.size + (s.index?.size ?? 0),
        compression: s.archive.compression,
        findings: s.findingsTotal,
        ...redisSummary(s),
      })),
      failedSources: result.failedSources,
      warnings: result.warnings,
      errors: result.errors,
      notes: result.notes,
      signedBy: repo.signingKey?.publicKey ?? null,
    });
  } else {
    for (const n of result.notes) warn(`note: ${n}`);
    for (const w of result.warnings.slice(0, 20)) warn(`warning: ${w.source}: ${w.message}`);
    if (result.warnings.length > 20) warn(`warning: … and ${result.warnings.length - 20} more (see --json)`);
    for (const f of result.failedSources) warn(`error: source "${f.name}" was not backed up [${f.code}]: ${f.reason}`);
    for (const e of result.errors) warn(`error: ${e.source}: ${e.message}`);
    for (const s of snap.sources)
      if (s.redis) say(`  ${s.name}: ${redisLine(s)} → ${bytes(s.archive.size)} stored (${s.archive.compression})`);
      else
        say(
          `  ${s.name}: ${s.stats.files} files, ${s.stats.dirs} dirs, ${s.stats.symlinks} ` +
            `symlinks, ${bytes(s.stats.bytes)} → ${bytes(s.archive.size + (s.index?.size ?? 0))} stored ` +
            `(${s.archive.compression})`,
        );
    if (snap.sources.some((s) => s.redis))
      say(
        '  note: Redis keys were read one batch at a time while the server kept serving; the snapshot is ' +
          'not point-in-time across keys.',
      );
    say(`  ${snap.kind}: ${result.chain}; read ${result.read.files} files, ${bytes(result.read.bytes)}`);
    const f = result.files;
    say(
      `  files: ${f.new} new, ${f.changed} changed, ${f.unmodified} unmodified; added to the ` +
        `repository: ${bytes(result.added)}`,
    );
    if (repo.signingKey) say(`  signed by ${repo.signingKey.publicKey}`);
    say(
      `snapshot ${snap.id} saved${result.status === 'partial' ? ` PARTIAL: ${partialSummary(result)}` : ''} ` +
        `in ${(durationMs / 1000).toFixed(1)}s`,
    );
  }
  return result.status === 'partial' ? ExitCode.PARTIAL_BACKUP : ExitCode.OK;
}

function partialSummary(r: BackupResult): string {
  const failed = r.failedSources.length
    ? [`${r.failedSources.length} source(s) failed (${r.failedSources.map((f) => f.name).join(', ')})`]
    : [];
  const unread = r.errors.length ? [`${r.errors.length} path(s) or key(s) could not be read`] : [];
  return [...failed, ...unread].join(', ');
}

function adHocRedis(url: string): RedisSource {
  return { name: 'redis', type: 'redis', connection: { url } };
}

type SourceMeta = BackupResult['snapshot']['sources'][number];

function redisSummary(s: SourceMeta) {
  return s.redis
    ? {
        keys: s.redis.records,
        dbs: s.redis.dbs,
        skippedVanished: s.redis.skippedVanished,
        server: s.redis.server.version,
        rdbVersion: s.redis.rdbVersion,
        pointInTime: false,
      }
    : {};
}

function redisLine(s: SourceMeta): string {
  const r = s.redis!;
  const vanished = r.skippedVanished ? `, ${r.skippedVanished} vanished while read` : '';
  return (
    `${r.records} keys (${r.dbs.map((d) => `db${d.db} ${d.keys}`).join(', ') || 'no keys'}) from ` +
    `Redis ${r.server.version}${vanished}, ${bytes(s.stats.bytes)}`
  );
}
