import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedKeys } from './redis-data.mjs';
import { HOOK_PORT, hookConfig, hookStop, hookUp, openToReceipt } from './notify.mjs';
import { S3_BUCKET, S3_ENV, S3_PORT, s3Available, s3Fresh } from './s3-server.mjs';

const HERE_REDIS_DATA = fileURLToPath(new URL('./redis-data.mjs', import.meta.url));

// Benchmark steps, as data. bench/run.mjs runs them in this order.
//
// Adding a step (S3 backup, encrypted backup, restic, borg, Redis, ...) means adding one object
// to STEPS. Every function gets the context `c` built by run.mjs:
//
//   c.q(str)        shell-quote a string for bash
//   c.node          absolute path of the node binary running the bench
//   c.cli           absolute path of drkit's CLI (apps/cli/dist/main.js, or --cli)
//   c.tree          absolute path of the generated reference tree (read-only for steps!)
//   c.treeBytes     total bytes of the tree's files
//   c.file(name)    absolute path of `name` inside the scratch dir (wiped at start and end)
//   c.discard(...p) bash snippet that moves these paths (if they exist) to the scratch dir's
//                   trash, emptied at the end: steps remove what they made with it, not `rm -rf`
//                   (see run.mjs: deleting many files slows the next run's file creation)
//   c.scale, c.runs the options in force
//
// Fields (only id, label, group and command are required):
//   id          unique name, used by --only and in latest.json
//   label       text of the table row
//   group       'backup' | 'verify' | 'restore' | 'hash' | ... (free text, informative)
//   tools       commands that must be on PATH; a missing one skips the step with an install hint
//   install     { tool: 'how to install' } hints for missing tools (default: apt-get install -y TOOL)
//   available(c)  -> null, or a reason string why the step cannot run (e.g. CLI not built,
//                 service env var not set); the step is then reported as failed with that reason
//   requires    ids of steps whose output this step reads; if such a step has not succeeded yet in
//               this invocation (e.g. with --only), it is run once, untimed, first
//   env(c)      -> extra environment variables for prepare/command (e.g. RESTIC_PASSWORD)
//   prepare(c)  -> bash snippet run untimed before EVERY run (e.g. remove the previous repo)
//   command(c)  -> bash snippet that is timed; runs under `set -o pipefail`, cwd = scratch dir
//   outputs(c)  -> paths whose `du -sb` total is the step's output size (after the last run)
//   check(c)    -> null, or a warning string (after the last run; e.g. restored tree mismatch)
//   collect(c)  -> object of extra facts for the report (e.g. drkit's codec), after success
//   cleanup(c)  -> bash snippet run untimed after the last run (e.g. delete a restore target)
//   anchors     ids of reference steps this one is compared with (time and size ratios)
//   targets     { anchorId: limit } or { anchorId: { time, size, rss } }: the performance targets,
//               as ratios this step ÷ anchor that must not be exceeded (a bare number = time).
//               The report marks each one met / not met; they are set for Node 22 (docs/BENCHMARKS.md).
//               An anchor named only here is compared too.
//   rate(c)     -> { count, unit }: what one run processes (e.g. 1,000,003 keys); the report shows
//                 count ÷ median wall (keys/s) instead of MB/s of the tree
//   runs        at most this many timed runs (default --runs), in the last rounds; for a step whose
//               figure is not its time (the storage simulation: 1)
//   timeout(c)  -> this step's per-run limit in seconds when --timeout / BENCH_TIMEOUT is not given
//   collect() may return `table: { title, header: [..], rows: [[..], ..] }`: printed under the report

const drkitAvailable = (c) => (c.cliExists ? null : `drkit CLI not built (${c.cliRel} missing; run pnpm build)`);

// Redis steps: BENCH_REDIS_KEYS small keys (default 1,000,000) plus a few large hashes, served by
// two throw-away redis-servers (source and restore target) that the steps start on first use
// and that are shut down when the harness exits.
const { env: ENV } = process;
const REDIS_KEYS = Number(ENV.BENCH_REDIS_KEYS ?? 1_000_000);
const REDIS_TOTAL = expectedKeys(REDIS_KEYS);
const REDIS_SOURCE = 20_000 + (process.pid % 20_000);
const REDIS_TARGET = REDIS_SOURCE + 1;
// The outbox's Redis state store: a server of its own, with an append-only file fsynced every second
// (Redis's own default once AOF is on), as a state store should be run.
const REDIS_STATE = REDIS_SOURCE + 2;
const REDIS_TOOLS = ['redis-server', 'redis-cli'];
const REDIS_INSTALL = {
  'redis-server': 'apt-get install -y redis-server',
  'redis-cli': 'apt-get install -y redis-tools',
};
const redisPidFile = (port) => path.join(os.tmpdir(), `drkit-bench-redis-${port}.pid`);
// Starts our own server once; refuses to touch a server on that port that we did not start. With
// `aofDir`, it keeps an append-only file there, in a folder made afresh (a server that loaded an
// older file would still be loading it when the step empties it).
const redisUp = (c, port, aofDir) => {
  const pid = c.q(redisPidFile(port));
  const persistence = aofDir
    ? `--appendonly yes --appendfsync everysec --dir ${c.q(aofDir)}`
    : `--appendonly no --dir ${c.q(os.tmpdir())}`;
  return (
    `{ [ -f ${pid} ] && kill -0 "$(cat ${pid})" 2>/dev/null || { rm -f ${pid} && ` +
    `${aofDir ? `rm -rf ${c.q(aofDir)} && mkdir -p ${c.q(aofDir)} && ` : ''}redis-server ` +
    `--port ${port} --bind 127.0.0.1 --save '' ${persistence} --repl-diskless-sync-delay 0 ` +
    `--daemonize yes --pidfile ${pid} >/dev/null && for i in $(seq 100); do [ ` +
    `-f ${pid} ] && redis-cli -p ${port} ping >/dev/null 2>&1 && break; sleep 0.1; done; }; } && ` +
    `[ "$(redis-cli -p ${port} info server | tr -d '\\r' | sed -n 's/^process_id://p')" = "$(cat ${pid})" ] ` +
    `|| { echo "port ${port} is used by another redis-server" >&2; false; }`
  );
};
const redisSeeded = (c) =>
  `${redisUp(c, REDIS_SOURCE)} && { [ "$(redis-cli -p ${REDIS_SOURCE} dbsize)" = ${REDIS_TOTAL} ] || ` +
  `{ redis-cli -p ${REDIS_SOURCE} flushall >/dev/null && ${c.q(c.node)} ${c.q(HERE_REDIS_DATA)} ` +
  `${REDIS_KEYS} | redis-cli -p ${REDIS_SOURCE} --pipe >/dev/null; }; }`;
process.on('exit', () => {
  for (const port of [REDIS_SOURCE, REDIS_TARGET, REDIS_STATE]) {
    try {
      process.kill(Number(readFileSync(redisPidFile(port), 'utf8')), 'SIGTERM');
      rmSync(redisPidFile(port), { force: true });
    } catch {}
  }
});
const redisRate = () => ({ count: REDIS_TOTAL, unit: 'keys' });

// The drill: the tree and the Redis data in one snapshot, drilled into a sandbox with a small HTTP
// service over the restored data (bench/drill-service.mjs) probed until healthy. Target: RTO ≤ 60 s.
const DRILL_RTO_TARGET_S = 60;
const DRILL_PORT = REDIS_SOURCE + 2;
const HERE_DRILL_SERVICE = fileURLToPath(new URL('./drill-service.mjs', import.meta.url));
const drillConfig = (c) => `repository: ${JSON.stringify(c.file('drill-repo'))}
state: ${JSON.stringify(c.file('drill-state'))}
sources:
  - { name: tree, type: files, path: ${JSON.stringify(c.tree)} }
  - { name: cache, type: redis, url: "redis://127.0.0.1:${REDIS_SOURCE}" }
validation: { jsonl: [] }
drill:
  sandbox: ${JSON.stringify(c.file('drill-sandboxes'))}
  service:
    command: ${JSON.stringify(`${c.q(c.node)} ${c.q(HERE_DRILL_SERVICE)}`)}
    env: { PORT: "${DRILL_PORT}" }
    health: [{ type: http, url: "http://127.0.0.1:${DRILL_PORT}/health" }]
    ready_within: 2m
    smoke: ${JSON.stringify(
      `${c.q(c.node)} -e "fetch('http://127.0.0.1:${DRILL_PORT}` +
        `/health').then(r=>r.json()).then(j=>process.exit(j.keys===${REDIS_TOTAL}?0:1))"`,
    )}
`;
const drkitWith = (c) => `${c.q(c.node)} ${c.q(c.cli)} --config ${c.q(c.file('drill.config.yaml'))}`;

// Log scan: LOG_BYTES of access-log lines (bench/logs-data.mjs), made once. Its figure is the RSS:
// the scan must stay under 100 MiB whatever the size of the logs.
const LOG_BYTES = Number(ENV.BENCH_LOG_BYTES ?? 1024 ** 3);
const HERE_LOGS = fileURLToPath(new URL('./logs-data.mjs', import.meta.url));

// Storage over time: BENCH_STORAGE_DAYS (30) simulated days of the plan on a copy of the tree,
// drkit (age-encrypted) and restic (always encrypted) side by side (bench/storage-sim.mjs).
const STORAGE_DAYS = Number(ENV.BENCH_STORAGE_DAYS ?? 30);
const HERE_STORAGE = fileURLToPath(new URL('./storage-sim.mjs', import.meta.url));
const MiB = 1024 * 1024;
const mib = (b) => (b / MiB).toFixed(1);
const storagePaths = (c) =>
  [
    'storage-tree',
    'storage-drkit-repo',
    'storage-restic-repo',
    'storage-restic-cache',
    'storage-drkit-cache',
    'storage-age-key.txt',
  ].map(c.file);
function storageTable(r) {
  const every = r.perDay.length > 31 ? 7 : 1; // a row a day, or a week for long simulations
  const rows = r.perDay.filter((_, i) => (i + 1) % every === 0 || i === r.perDay.length - 1);
  return {
    title:
      `drkit-storage-30d: repository size (du -sb, MiB) at the end of each simulated day; ${r.days} ` +
      `days, ${r.hours} backups per tool; final drkit ÷ restic = ${r.final?.ratio}×; time in drkit ` +
      `backup ${r.seconds.drkitBackup} s, forget --prune ${r.seconds.drkitForget} s; restic ` +
      `backup ${r.seconds.resticBackup} s, forget --prune ${r.seconds.resticForget} s`,
    header: [
      'day',
      'date',
      'drkit MiB',
      'restic MiB',
      'drkit ÷ restic',
      'drkit snapshots',
      'restic snapshots',
      'tree files',
    ],
    rows: rows.map((d) => [
      d.day,
      d.date,
      mib(d.drkitBytes),
      mib(d.resticBytes),
      `${(d.drkitBytes / d.resticBytes).toFixed(2)}×`,
      d.drkitSnapshots,
      d.resticSnapshots,
      d.treeFiles,
    ]),
  };
}

const NOTIFY_MESSAGES = Number(ENV.BENCH_NOTIFY_MESSAGES ?? 5_000);
const NOTIFY_HELPER = fileURLToPath(new URL('./notify.mjs', import.meta.url));
process.on('exit', hookStop);

// restic: repo and cache in the scratch dir (the cache is restic's default behaviour, kept for
// the unchanged re-backup; `check` uses a temporary cache of its own, as it does by default).
const RESTIC_INSTALL = { restic: 'apt-get install -y restic' };
const resticEnv = (c) => ({
  RESTIC_REPOSITORY: c.file('restic-repo'),
  RESTIC_PASSWORD: 'drkit-bench',
  RESTIC_CACHE_DIR: c.file('restic-cache'),
});

export const STEPS = [
  {
    id: 'drkit-backup',
    label: 'drkit init+backup',
    group: 'backup',
    available: drkitAvailable,
    prepare: (c) => c.discard(c.file('drkit-repo')),
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} init --repo ${c.q(c.file('drkit-repo'))} > /dev/null && ` +
      `${c.q(c.node)} ${c.q(c.cli)} backup ${c.q(c.tree)} --repo ${c.q(c.file('drkit-repo'))} --json ` +
      `> ${c.q(c.file('drkit-backup.json'))}`,
    outputs: (c) => [c.file('drkit-repo')],
    check: (c) => {
      const r = c.readJson(c.file('drkit-backup.json'));
      return r.jsonError ?? (r.json?.id ? null : 'backup --json printed no "id"');
    },
    collect: (c) => c.readJson(c.file('drkit-backup.json')),
    anchors: ['tar-zstd', 'tar-gzip', 'restic-backup'],
    // restic always encrypts, so only its peak RSS is a target for the plain backup.
    targets: { 'tar-zstd': { time: 2.0, size: 1.05 }, 'restic-backup': { rss: 1.0 } },
  },
  {
    id: 'drkit-backup-unchanged',
    label: 'drkit backup, unchanged tree (incremental)',
    group: 'backup',
    available: drkitAvailable,
    requires: ['drkit-backup'],
    // Its own copy of drkit-backup's repo (untimed), so the repo other steps read keeps one snapshot.
    prepare: (c) =>
      `${c.discard(c.file('drkit-incr-repo'))} && cp -a ${c.q(c.file('drkit-repo'))} ${c.q(c.file('drkit-incr-repo'))}`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} backup ${c.q(c.tree)} --repo ${c.q(c.file('drkit-incr-repo'))} --json ` +
      `> ${c.q(c.file('drkit-incr-backup.json'))}`,
    check: (c) => {
      const r = c.readJson(c.file('drkit-incr-backup.json'));
      if (r.jsonError) return r.jsonError;
      if (r.json?.kind !== 'incremental') return `expected an incremental, got ${r.json?.kind} (${r.json?.chain})`;
      return r.json.read?.files === 0 ? null : `the unchanged incremental read ${r.json.read?.files} files`;
    },
    collect: (c) => c.readJson(c.file('drkit-incr-backup.json')),
    cleanup: (c) => c.discard(c.file('drkit-incr-repo')),
    anchors: ['restic-backup-unchanged'],
    targets: { 'restic-backup-unchanged': 0.3 },
  },
  {
    id: 'drkit-verify',
    label: 'drkit verify latest',
    group: 'verify',
    available: drkitAvailable,
    requires: ['drkit-backup'],
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} verify latest --repo ${c.q(c.file('drkit-repo'))} --json ` +
      `> ${c.q(c.file('drkit-verify.json'))}`,
    collect: (c) => c.readJson(c.file('drkit-verify.json')),
    anchors: ['sha256sum'],
  },
  {
    id: 'drkit-restore',
    label: 'drkit restore latest',
    group: 'restore',
    available: drkitAvailable,
    requires: ['drkit-backup'],
    prepare: (c) => c.discard(c.file('drkit-target')),
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} restore latest --target ${c.q(c.file('drkit-target'))} ` +
      `--repo ${c.q(c.file('drkit-repo'))}`,
    outputs: (c) => [c.file('drkit-target')],
    check: (c) => c.compareWithTree(c.file('drkit-target')),
    cleanup: (c) => c.discard(c.file('drkit-target')),
    anchors: ['tar-xzf'],
    targets: { 'tar-xzf': 1.0 },
  },
  {
    id: 'drkit-backup-age',
    label: 'drkit init+backup, age-encrypted',
    group: 'backup',
    available: drkitAvailable,
    prepare: (c) => c.discard(c.file('drkit-age-repo'), c.file('age-key.txt')),
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} init --repo ${c.q(c.file('drkit-age-repo'))} ` +
      `--generate-key ${c.q(c.file('age-key.txt'))} > /dev/null 2>&1 && ` +
      `${c.q(c.node)} ${c.q(c.cli)} backup ${c.q(c.tree)} --repo ${c.q(c.file('drkit-age-repo'))} --json ` +
      `> ${c.q(c.file('drkit-age-backup.json'))}`,
    outputs: (c) => [c.file('drkit-age-repo')],
    check: (c) => {
      const r = c.readJson(c.file('drkit-age-backup.json'));
      return r.jsonError ?? (r.json?.id ? null : 'backup --json printed no "id"');
    },
    collect: (c) => c.readJson(c.file('drkit-age-backup.json')),
    // restic always encrypts: drkit is compared with it on an encrypted repository. Encryption
    // itself may cost at most 15 % over the plain backup. borg is shown, with no target.
    anchors: ['restic-backup', 'drkit-backup', 'borg-backup'],
    targets: { 'restic-backup': { time: 0.6, rss: 1.0 }, 'drkit-backup': 1.15 },
  },
  {
    id: 'drkit-verify-age',
    label: 'drkit verify latest, age-encrypted (--identity, all data)',
    group: 'verify',
    available: drkitAvailable,
    requires: ['drkit-backup-age'],
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} verify latest --repo ${c.q(c.file('drkit-age-repo'))} ` +
      `--identity ${c.q(c.file('age-key.txt'))} --json > ${c.q(c.file('drkit-age-verify.json'))}`,
    check: (c) => {
      const r = c.readJson(c.file('drkit-age-verify.json'));
      if (r.jsonError) return r.jsonError;
      const snaps = r.json?.snapshots ?? [];
      if (!r.json?.ok || snaps.length === 0) return 'verify --json did not report ok';
      return snaps.every((s) => s.contentChecked === true)
        ? null
        : 'verify did not check the contents (contentChecked is not true)';
    },
    collect: (c) => c.readJson(c.file('drkit-age-verify.json')),
    anchors: ['restic-check'],
    targets: { 'restic-check': 1.0 },
  },
  {
    id: 'drkit-restore-age',
    label: 'drkit restore latest, age-encrypted (--identity)',
    group: 'restore',
    available: drkitAvailable,
    requires: ['drkit-backup-age'],
    prepare: (c) => c.discard(c.file('drkit-age-target')),
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} restore latest --target ${c.q(c.file('drkit-age-target'))} ` +
      `--repo ${c.q(c.file('drkit-age-repo'))} --identity ${c.q(c.file('age-key.txt'))}`,
    outputs: (c) => [c.file('drkit-age-target')],
    check: (c) => c.compareWithTree(c.file('drkit-age-target')),
    cleanup: (c) => c.discard(c.file('drkit-age-target')),
    anchors: ['restic-restore', 'tar-xzf'],
    targets: { 'restic-restore': 0.6 },
  },
  {
    id: 'drkit-backup-s3',
    label: 'drkit init+backup → S3 (moto, 127.0.0.1)',
    group: 'backup',
    available: (c) => drkitAvailable(c) ?? s3Available(),
    env: () => S3_ENV,
    // A fresh in-memory server per run, started untimed.
    prepare: (c) => s3Fresh(c),
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} init --repo s3:http://127.0.0.1:${S3_PORT}/${S3_BUCKET}/repo > /dev/null && ` +
      `${c.q(c.node)} ${c.q(c.cli)} backup ${c.q(c.tree)} --repo s3:http://127.0.0.1:${S3_PORT}/${S3_BUCKET}` +
      `/repo --json > ${c.q(c.file('drkit-s3-backup.json'))}`,
    check: (c) => {
      const r = c.readJson(c.file('drkit-s3-backup.json'));
      return r.jsonError ?? (r.json?.id ? null : 'backup --json printed no "id"');
    },
    collect: (c) => c.readJson(c.file('drkit-s3-backup.json')),
    anchors: ['drkit-backup'],
  },
  {
    id: 'drkit-redis-backup',
    label: `drkit backup --redis (${REDIS_KEYS.toLocaleString('en')} keys + hashes)`,
    group: 'backup',
    tools: REDIS_TOOLS,
    install: REDIS_INSTALL,
    available: drkitAvailable,
    prepare: (c) => `${redisSeeded(c)} && ${c.discard(c.file('drkit-redis-repo'))}`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} init --repo ${c.q(c.file('drkit-redis-repo'))} > /dev/null && ` +
      `${c.q(c.node)} ${c.q(c.cli)} backup --redis redis://127.0.0.1:${REDIS_SOURCE} ` +
      `--repo ${c.q(c.file('drkit-redis-repo'))} --json > ${c.q(c.file('drkit-redis-backup.json'))}`,
    outputs: (c) => [c.file('drkit-redis-repo')],
    check: (c) => {
      const r = c.readJson(c.file('drkit-redis-backup.json'));
      const keys = r.json?.sources?.[0]?.keys;
      return r.jsonError ?? (keys === REDIS_TOTAL ? null : `backed up ${keys} keys, the server holds ${REDIS_TOTAL}`);
    },
    collect: (c) => c.readJson(c.file('drkit-redis-backup.json')),
    rate: redisRate,
    anchors: ['redis-cli-rdb'],
  },
  {
    id: 'redis-cli-rdb',
    label: 'redis-cli --rdb (dump)',
    group: 'backup',
    tools: REDIS_TOOLS,
    install: REDIS_INSTALL,
    prepare: (c) => `${redisSeeded(c)} && rm -f ${c.q(c.file('dump.rdb'))}`,
    command: (c) => `redis-cli -p ${REDIS_SOURCE} --rdb ${c.q(c.file('dump.rdb'))} > /dev/null`,
    outputs: (c) => [c.file('dump.rdb')],
    rate: redisRate,
  },
  {
    id: 'drkit-redis-restore',
    label: 'drkit restore --source redis --mode replace',
    group: 'restore',
    tools: REDIS_TOOLS,
    install: REDIS_INSTALL,
    available: drkitAvailable,
    requires: ['drkit-redis-backup'],
    prepare: (c) => `${redisUp(c, REDIS_TARGET)} && redis-cli -p ${REDIS_TARGET} flushall > /dev/null`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} restore latest --source redis --redis redis://127.0.0.1:${REDIS_TARGET} ` +
      `--mode replace --yes ` +
      `--repo ${c.q(c.file('drkit-redis-repo'))} --json > ${c.q(c.file('drkit-redis-restore.json'))}`,
    check: () => {
      const n = Number(
        spawnSync('redis-cli', ['-p', String(REDIS_TARGET), 'dbsize'], { encoding: 'utf8' }).stdout.trim(),
      );
      return n === REDIS_TOTAL ? null : `the target holds ${n} keys after the restore, expected ${REDIS_TOTAL}`;
    },
    collect: (c) => c.readJson(c.file('drkit-redis-restore.json')),
    rate: redisRate,
  },
  {
    id: 'tar-gzip',
    label: 'tar | gzip -6',
    group: 'backup',
    tools: ['tar', 'gzip'],
    command: (c) => `tar -cf - -C ${c.q(c.tree)} . | gzip -6 > ${c.q(c.file('out.tar.gz'))}`,
    outputs: (c) => [c.file('out.tar.gz')],
  },
  {
    id: 'tar-zstd',
    label: 'tar | zstd -3 -T0',
    group: 'backup',
    tools: ['tar', 'zstd'],
    command: (c) => `tar -cf - -C ${c.q(c.tree)} . | zstd -3 -T0 -q > ${c.q(c.file('out.tar.zst'))}`,
    outputs: (c) => [c.file('out.tar.zst')],
  },
  {
    id: 'tar-xzf',
    label: 'tar -xzf (restore)',
    group: 'restore',
    tools: ['tar', 'gzip'],
    requires: ['tar-gzip'],
    prepare: (c) => `${c.discard(c.file('tar-target'))} && mkdir -p ${c.q(c.file('tar-target'))}`,
    command: (c) => `tar -xzf ${c.q(c.file('out.tar.gz'))} -C ${c.q(c.file('tar-target'))}`,
    outputs: (c) => [c.file('tar-target')],
    check: (c) => c.compareWithTree(c.file('tar-target')),
    cleanup: (c) => c.discard(c.file('tar-target')),
  },
  {
    id: 'sha256sum',
    label: 'find | xargs sha256sum',
    group: 'hash',
    tools: ['find', 'xargs', 'sha256sum'],
    command: (c) => `find ${c.q(c.tree)} -type f -print0 | xargs -0 sha256sum > /dev/null`,
  },
  {
    // restic always encrypts (AES-256-CTR + Poly1305); repository v2 with its default compression
    // (auto = zstd fastest). `init` (~2 s here: it calibrates and runs scrypt) is untimed: it is
    // a one-off, not part of a first backup. drkit's rows do time their `init` (well under 1 s).
    // Every restic command still pays its key derivation (~0.6 s here), inside the timed figure.
    // The backup runs from inside the tree (`.`), so restore writes the tree at the target's root.
    id: 'restic-backup',
    label: 'restic backup (first, fresh repo)',
    group: 'backup',
    tools: ['restic'],
    install: RESTIC_INSTALL,
    env: resticEnv,
    // A cold start every run: a new repo, no cache.
    prepare: (c) => `${c.discard(c.file('restic-repo'), c.file('restic-cache'))} && restic init -q`,
    command: (c) => `cd ${c.q(c.tree)} && restic backup -q .`,
    outputs: (c) => [c.file('restic-repo')],
  },
  {
    // Each run adds one (empty) snapshot to restic-backup's repo, with restic's cache warm from
    // that backup; the later restic steps read `latest`, which holds the same tree.
    id: 'restic-backup-unchanged',
    label: 'restic backup, unchanged tree (2nd)',
    group: 'backup',
    tools: ['restic'],
    install: RESTIC_INSTALL,
    env: resticEnv,
    requires: ['restic-backup'],
    command: (c) => `cd ${c.q(c.tree)} && restic backup -q .`,
  },
  {
    id: 'restic-check',
    label: 'restic check --read-data',
    group: 'verify',
    tools: ['restic'],
    install: RESTIC_INSTALL,
    env: resticEnv,
    requires: ['restic-backup'],
    command: () => 'restic check -q --read-data',
  },
  {
    id: 'restic-restore',
    label: 'restic restore latest',
    group: 'restore',
    tools: ['restic'],
    install: RESTIC_INSTALL,
    env: resticEnv,
    requires: ['restic-backup'],
    prepare: (c) => c.discard(c.file('restic-target')),
    command: (c) => `restic restore -q latest --target ${c.q(c.file('restic-target'))}`,
    outputs: (c) => [c.file('restic-target')],
    check: (c) => c.compareWithTree(c.file('restic-target')),
    cleanup: (c) => c.discard(c.file('restic-target')),
  },
  {
    // Encrypted like restic (repokey-blake2: AES-256-CTR + BLAKE2b MAC) and compressed with
    // zstd,3 (borg's default is lz4) so that it compares with tar | zstd -3 and drkit's zstd.
    // `init` is untimed, as for restic.
    id: 'borg-backup',
    label: 'borg create (first, repokey-blake2, zstd,3)',
    group: 'backup',
    tools: ['borg'],
    install: { borg: 'apt-get install -y borgbackup' },
    env: (c) => ({
      BORG_REPO: c.file('borg-repo'),
      BORG_PASSPHRASE: 'drkit-bench',
      BORG_DISPLAY_PASSPHRASE: 'no',
      BORG_BASE_DIR: c.file('borg-home'), // keys' security dir and cache in scratch, not in ~
    }),
    prepare: (c) => `${c.discard(c.file('borg-repo'), c.file('borg-home'))} && borg init -e repokey-blake2 2>/dev/null`,
    command: (c) => `cd ${c.q(c.tree)} && borg create --compression zstd,3 ::first .`,
    outputs: (c) => [c.file('borg-repo')],
  },
  // Notify: a local webhook receiver (bench/notify.mjs) on a fixed port, started on first use.
  {
    id: 'drkit-incident-open',
    label: 'drkit incident open → P1 webhook received (target ≤ 1 s, process start included)',
    group: 'notify',
    available: drkitAvailable,
    prepare: (c) =>
      `${hookUp(c, c.file('hook.log'))} && printf '%s' ${c.q(hookConfig(c.file('notify-state')))} ` +
      `> ${c.q(c.file('notify.yaml'))}`,
    // The command ends after the receiver has answered: its wall time bounds open → receipt from above.
    command: (c) =>
      `date +%s%3N > ${c.q(c.file('open-start'))} && ${c.q(c.node)} ${c.q(c.cli)} incident open --severity ` +
      `P1 --title bench --config ${c.q(c.file('notify.yaml'))} > /dev/null`,
    check: (c) => {
      const ms = openToReceipt(c.file('open-start'), c.file('hook.log'));
      if (ms === undefined) return 'the webhook received no P1 message';
      return ms > 1000 ? `incident open → webhook receipt took ${ms} ms in the last run (target ≤ 1,000)` : null;
    },
    collect: (c) => ({ openToReceiptMs: openToReceipt(c.file('open-start'), c.file('hook.log')) }),
  },
  {
    id: 'drkit-outbox-throughput',
    label:
      `drkit outbox: ${NOTIFY_MESSAGES.toLocaleString('en')} messages written, then sent to a local webhook ` +
      `(target ≥ 1,000/s)`,
    group: 'notify',
    available: drkitAvailable,
    // The last run's state goes here, untimed: removing 5,000 files is not the outbox's work.
    prepare: (c) => `rm -rf ${c.q(c.file('outbox-state'))} && ${hookUp(c, c.file('hook.log'))}`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(NOTIFY_HELPER)} throughput ${NOTIFY_MESSAGES} ${HOOK_PORT} ${c.q(c.file('outbox-state'))}`,
    rate: () => ({ count: NOTIFY_MESSAGES, unit: 'messages' }),
  },
  {
    id: 'drkit-outbox-throughput-redis',
    label:
      `drkit outbox, Redis state store (AOF, fsync every second): ${NOTIFY_MESSAGES.toLocaleString('en')} ` +
      `messages written, then sent to a local webhook (target ≥ 1,000/s)`,
    group: 'notify',
    tools: REDIS_TOOLS,
    install: REDIS_INSTALL,
    available: drkitAvailable,
    prepare: (c) =>
      `${redisUp(c, REDIS_STATE, c.file('redis-state'))} && ` +
      `redis-cli -p ${REDIS_STATE} flushall >/dev/null && ${hookUp(c, c.file('hook.log'))}`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(NOTIFY_HELPER)} throughput ${NOTIFY_MESSAGES} ${HOOK_PORT} ` +
      `redis://127.0.0.1:${REDIS_STATE}/0`,
    rate: () => ({ count: NOTIFY_MESSAGES, unit: 'messages' }),
  },
  {
    id: 'drkit-drill',
    label:
      `drkit drill (tree + ${REDIS_KEYS.toLocaleString('en')} Redis keys: sandbox restore, read-back, HTTP ` +
      `service probed)`,
    group: 'drill',
    tools: REDIS_TOOLS,
    install: REDIS_INSTALL,
    available: drkitAvailable,
    // One snapshot of the tree and the Redis data, made once (untimed); each run drills it into a fresh sandbox.
    prepare: (c) =>
      `${redisSeeded(c)} && printf %s ${c.q(drillConfig(c))} > ${c.q(c.file('drill.config.yaml'))} && ` +
      `{ [ -d ${c.q(c.file('drill-repo'))} ] || { ${drkitWith(c)} init > /dev/null && ${drkitWith(c)} ` +
      `backup > /dev/null; }; }`,
    command: (c) => `${drkitWith(c)} drill --json > ${c.q(c.file('drkit-drill.json'))}`,
    check: (c) => {
      const r = c.readJson(c.file('drkit-drill.json'));
      if (r.jsonError) return r.jsonError;
      if (!r.json.passed) return `the drill failed: ${r.json.problems?.[0]?.message ?? 'see drkit-drill.json'}`;
      return r.json.rto_seconds <= DRILL_RTO_TARGET_S
        ? null
        : `RTO ${r.json.rto_seconds.toFixed(1)} s, over the ${DRILL_RTO_TARGET_S} s target`;
    },
    // The report's RTO and each phase's share of it.
    collect: (c) => {
      const r = c.readJson(c.file('drkit-drill.json')).json ?? {};
      return {
        rto_seconds: r.rto_seconds,
        rpo_seconds: r.rpo_seconds,
        phases: Object.fromEntries(
          (r.phases ?? []).map((p) => [
            p.name,
            `${p.seconds.toFixed(1)} s${p.share === null ? '' : ` (${Math.round(p.share * 100)} %)`}`,
          ]),
        ),
      };
    },
    cleanup: (c) => c.discard(c.file('drill-repo'), c.file('drill-state'), c.file('drill-sandboxes')),
  },
  {
    id: 'drkit-logs-scan',
    label: 'drkit logs scan (1 GiB of logs; RSS must stay under 100 MiB)',
    group: 'incident',
    available: drkitAvailable,
    prepare: (c) =>
      `[ -f ${c.q(c.file('logs/app.log'))} ] || { mkdir -p ${c.q(c.file('logs'))} ` +
      `&& ${c.q(c.node)} ${c.q(HERE_LOGS)} ${LOG_BYTES} > ${c.q(c.file('logs/app.log'))}; }`,
    command: (c) =>
      `${c.q(c.node)} ${c.q(c.cli)} logs scan --glob ${c.q(c.file('logs/*.log'))} --json ` +
      `> ${c.q(c.file('drkit-logs-scan.json'))}`,
    check: (c) => {
      const r = c.readJson(c.file('drkit-logs-scan.json'));
      return r.jsonError ?? (r.json.bytes === LOG_BYTES ? null : `scanned ${r.json.bytes} bytes of ${LOG_BYTES}`);
    },
    rate: () => ({ count: LOG_BYTES / 1024 / 1024, unit: 'MiB' }),
    cleanup: (c) => c.discard(c.file('logs')),
  },
  {
    // The figure is the size, so one run; its wall time is the whole simulation (both tools, the
    // changes, du). The copy and both repositories are made untimed; the sizes leave out both
    // tools' host-side caches (drkit's file lists, restic's cache).
    id: 'drkit-storage-30d',
    label:
      `drkit vs restic: repository size after ${STORAGE_DAYS} simulated days of the plan (1 % of files ` +
      `changing per hour; both encrypted)`,
    group: 'storage',
    tools: ['restic', 'du'],
    install: RESTIC_INSTALL,
    available: (c) =>
      Number.isInteger(STORAGE_DAYS) && STORAGE_DAYS >= 1
        ? drkitAvailable(c)
        : `BENCH_STORAGE_DAYS is ${ENV.BENCH_STORAGE_DAYS}: expected a whole number ≥ 1`,
    runs: 1,
    // ~5.2 s per simulated hour at scale 0.1 on the 2-core machine under load 12-17 (docs/BENCHMARKS.md);
    // the first limit, 3 s, stopped that run at day 28 of 30.
    timeout: (c) => Math.max(3600, STORAGE_DAYS * 24 * (10 + 20 * c.scale)),
    env: (c) => ({
      RESTIC_REPOSITORY: c.file('storage-restic-repo'),
      RESTIC_PASSWORD: 'drkit-bench',
      RESTIC_CACHE_DIR: c.file('storage-restic-cache'),
      DRKIT_CACHE_DIR: c.file('storage-drkit-cache'),
    }),
    prepare: (c) => {
      const [tree, drkitRepo, , , , key] = storagePaths(c);
      return (
        `${c.discard(...storagePaths(c))} && cp -a ${c.q(c.tree)} ${c.q(tree)} && ` +
        `${c.q(c.node)} ${c.q(c.cli)} init --repo ${c.q(drkitRepo)} --generate-key ${c.q(key)} > /dev/null ` +
        `2>&1 && restic init -q`
      );
    },
    command: (c) => {
      const [tree, drkitRepo, resticRepo] = storagePaths(c);
      return (
        `${c.q(c.node)} ${c.q(HERE_STORAGE)} --copy ${c.q(tree)} --drkit-repo ${c.q(drkitRepo)} ` +
        `--restic-repo ${c.q(resticRepo)} ` +
        `--days ${STORAGE_DAYS} --cli ${c.q(c.cli)} --out ${c.q(c.file('storage.json'))}`
      );
    },
    outputs: (c) => [c.file('storage-drkit-repo')],
    check: (c) => {
      const r = c.readJson(c.file('storage.json'));
      return (
        r.jsonError ??
        (r.json.perDay?.length === STORAGE_DAYS
          ? null
          : `the simulation recorded ${r.json.perDay?.length} of ${STORAGE_DAYS} days`)
      );
    },
    collect: (c) => {
      const r = c.readJson(c.file('storage.json'));
      return r.json ? { json: r.json, table: storageTable(r.json) } : r;
    },
    cleanup: (c) => c.discard(...storagePaths(c)),
    // How much faster than real time the simulation ran.
    rate: () => ({ count: STORAGE_DAYS * 24 * 3600, unit: 'simulated s' }),
  },
];
