#!/usr/bin/env node
// drkit benchmark harness: `pnpm bench` (= pnpm build && node bench/run.mjs).
//
//   node bench/run.mjs [--scale N] [--runs N] [--work DIR] [--only id,id] [--cli PATH]
//                      [--timeout SECONDS] [--keep] [--sequential] [--list]
//
// Every option can also come from the environment: BENCH_SCALE, BENCH_RUNS, BENCH_WORK,
// BENCH_ONLY, BENCH_CLI, BENCH_TIMEOUT, BENCH_KEEP=1, BENCH_SEQUENTIAL=1 (arguments win).
//
// It generates the reference tree (bench/gen-tree.mjs; reused when already there), runs every
// step of bench/steps.mjs `runs` times, in rounds of one run of every step, under
// `/usr/bin/time -f '%e %M' bash -c '...'` (warm page cache, no warm-up run), and prints a
// markdown table of medians, also written with the raw figures to bench/out/latest.md and
// bench/out/latest.json. Only node built-ins are used.

import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTree, GENERATOR_VERSION } from './gen-tree.mjs';
import { IDLE_TARGETS, measureSchedulerIdle } from './scheduler-idle.mjs';
import { sampleRss } from './rss-sampler.mjs';
import { STEPS } from './steps.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const OUT_DIR = path.join(HERE, 'out');
const { env: ENV } = process;
const TIME_BIN = ENV.BENCH_TIME_BIN ?? '/usr/bin/time'; // override only for testing
const MiB = 1024 * 1024;
const TARGET_NODE = 22; // the performance targets (steps' `targets`) are set for this Node major
const SETTLE_MIN = 7; // minutes after a large delete until ext4 creates files at full speed again
const LARGE_DELETE = 10_000; // inodes freed at once that make a delete "large" (a scale-1 restore is ~41,000)

// ---------------------------------------------------------------------------------------------
// options

const USAGE = `usage: node bench/run.mjs [options]
  --scale N        tree scale, 1 = ~944 MiB / 20,666 files (env BENCH_SCALE, default 1)
  --runs N         timed runs per step, medians are reported (env BENCH_RUNS, default 3)
  --work DIR       work dir for tree + scratch (env BENCH_WORK, default <repo>/.bench)
  --only a,b       run only these step ids (env BENCH_ONLY); see --list
  --cli PATH       drkit CLI entry (env BENCH_CLI, default apps/cli/dist/main.js)
  --timeout S      per-run time limit in seconds (env BENCH_TIMEOUT, default 3600, or the
                   step's own, e.g. the storage simulation's)
  --keep           keep the scratch dir (repos, archives) afterwards (env BENCH_KEEP=1)
  --sequential     all runs of a step before the next step, instead of rounds of one run of
                   every step (env BENCH_SEQUENTIAL=1)
  --list           list the step ids and exit`;

function parseOptions(argv, env) {
  const o = {
    scale: env.BENCH_SCALE ?? '1',
    runs: env.BENCH_RUNS ?? '3',
    work: env.BENCH_WORK ?? path.join(ROOT, '.bench'),
    only: env.BENCH_ONLY ?? '',
    cli: env.BENCH_CLI ?? path.join(ROOT, 'apps/cli/dist/main.js'),
    timeout: env.BENCH_TIMEOUT ?? '3600',
    timeoutGiven: env.BENCH_TIMEOUT !== undefined,
    keep: env.BENCH_KEEP === '1' || env.BENCH_KEEP === 'true',
    sequential: env.BENCH_SEQUENTIAL === '1' || env.BENCH_SEQUENTIAL === 'true',
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    if (a.startsWith('--') && a.includes('=')) [a, v] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    const val = () => {
      if (v !== undefined) return v;
      if (i + 1 >= argv.length) die(`missing value for ${a}\n${USAGE}`);
      return argv[++i];
    };
    switch (a) {
      case '--scale':
        o.scale = val();
        break;
      case '--runs':
        o.runs = val();
        break;
      case '--work':
        o.work = val();
        break;
      case '--only':
        o.only = val();
        break;
      case '--cli':
        o.cli = val();
        break;
      case '--timeout':
        o.timeout = val();
        o.timeoutGiven = true;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--sequential':
        o.sequential = true;
        break;
      case '--list':
        o.list = true;
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      case '--':
        break;
      default:
        die(`unknown argument: ${a}\n${USAGE}`);
    }
  }
  const num = (name, s, min) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) die(`invalid --${name}: ${s}`);
    return n;
  };
  o.scale = num('scale', o.scale, Number.MIN_VALUE);
  o.runs = Math.round(num('runs', o.runs, 1));
  o.timeout = num('timeout', o.timeout, 1);
  o.work = path.resolve(o.work);
  o.cli = path.resolve(o.cli);
  o.only = o.only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return o;
}

function die(msg) {
  console.error(msg);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// helpers

const q = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;
const log = (msg) => console.error(`[bench] ${msg}`);

function sh(cmd, opts = {}) {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 * MiB, ...opts });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const hasCommand = (name) => sh(`command -v ${q(name)}`).code === 0;
const firstLine = (cmd) => {
  const r = sh(`${cmd} 2>&1`);
  return r.code === 0
    ? (r.stdout
        .split('\n')
        .find((l) => l.trim())
        ?.trim() ?? '')
    : null;
};

/** Minutes since the time stored in a JSON mark file ({ at }), or null without one. */
function minutesSince(markFile) {
  try {
    const at = Date.parse(JSON.parse(readFileSync(markFile, 'utf8')).at);
    return Number.isFinite(at) ? (Date.now() - at) / 60_000 : null;
  } catch {
    return null;
  }
}

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Count files and bytes below `dir` (regular files only, symlinks not followed); `read` also reads every file. */
function walk(dir, { read = false } = {}) {
  let files = 0;
  let bytes = 0;
  const stack = [dir];
  const buf = read ? Buffer.allocUnsafe(MiB) : null;
  while (stack.length) {
    const d = stack.pop();
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        files++;
        bytes += statSync(p).size;
        if (buf) readAll(p, buf);
      }
    }
  }
  return { files, bytes };
}

function readAll(file, buf) {
  const fd = openSync(file, 'r');
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

const freeBytes = (dir) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

function duBytes(paths) {
  let total = 0;
  for (const p of paths) {
    if (!existsSync(p)) return null;
    const r = sh(`du -sb ${q(p)}`);
    const n = Number(r.stdout.split(/\s/)[0]);
    if (r.code !== 0 || !Number.isFinite(n)) return null;
    total += n;
  }
  return total;
}

function tail(file, lines = 3) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ').slice(0, 300);
  } catch {
    return '';
  }
}

/** Find values of codec/compression-like keys anywhere in a JSON value. */
function findCodec(v, depth = 0) {
  if (!v || typeof v !== 'object' || depth > 6) return null;
  for (const [k, x] of Object.entries(v)) {
    if (/codec|compress/i.test(k) && (typeof x === 'string' || typeof x === 'number')) return `${x}`;
  }
  for (const x of Object.values(v)) {
    const r = findCodec(x, depth + 1);
    if (r) return r;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// timing

function detectTime() {
  if (!existsSync(TIME_BIN)) return { ok: false, why: `${TIME_BIN} not found` };
  const tmp = path.join(os.tmpdir(), `bench-time-probe-${process.pid}`);
  const r = spawnSync(TIME_BIN, ['-f', '%e %M', '-o', tmp, 'true']);
  let ok = false;
  try {
    ok = r.status === 0 && /^\d+(\.\d+)? \d+$/m.test(readFileSync(tmp, 'utf8'));
    rmSync(tmp, { force: true });
  } catch {}
  return ok
    ? { ok: true, version: firstLine(`${TIME_BIN} --version`) }
    : { ok: false, why: `${TIME_BIN} is not GNU time` };
}

/**
 * Run one bash snippet, timed. Wall time comes from our own monotonic clock around the spawn
 * (GNU time's %e only has 10 ms resolution; its value is kept too), peak RSS from GNU time's %M:
 * ru_maxrss of the waited-for process tree, i.e. the largest single process in it.
 */
let current = null; // process group of the running step, killed on timeout or Ctrl-C

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {}
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) killGroup(current, 'SIGKILL');
    console.error(`\n[bench] interrupted (${sig})`);
    process.exit(130);
  });
}

async function timedRun(cmd, { cwd, env, timeFile, outFile, errFile, timeout, useTime }) {
  const wrapped = ['bash', '-c', `set -o pipefail\n${cmd}`];
  const argv = useTime ? [TIME_BIN, '-f', '%e %M', '-o', timeFile, ...wrapped] : wrapped;
  const out = openSync(outFile, 'w');
  const err = openSync(errFile, 'w');
  const t0 = process.hrtime.bigint();
  // detached: own process group, so a timeout or Ctrl-C can end the whole pipeline
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', out, err], detached: true });
  current = child.pid;
  const rss = useTime ? sampleRss(child.pid) : undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), 10_000).unref();
  }, timeout * 1000);
  const [code, signal] = await new Promise((resolve) => {
    child.on('error', () => resolve([127, null]));
    child.on('exit', (c, s) => resolve([c, s]));
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const split = rss?.stop();
  clearTimeout(timer);
  current = null;
  closeSync(out);
  closeSync(err);
  const res = { wallSeconds: round(wall, 3), exitCode: code ?? 128 };
  if (signal) res.signal = signal;
  if (timedOut) res.timedOut = true;
  if (split) Object.assign(res, split);
  if (useTime) {
    try {
      const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
      const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(lines[lines.length - 1] ?? '');
      if (m) {
        res.timeWallSeconds = Number(m[1]);
        res.peakRssKiB = Number(m[2]);
      }
    } catch {}
  }
  return res;
}

const round = (x, d = 2) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

// ---------------------------------------------------------------------------------------------
// main

function machineInfo(cliExists, cli) {
  const cpus = os.cpus();
  const git = sh(`git -C ${q(ROOT)} rev-parse --short HEAD`);
  const dirty = sh(`git -C ${q(ROOT)} status --porcelain --untracked-files=no`);
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    memGiB: round(os.totalmem() / 1024 ** 3, 1),
    commit: git.code === 0 ? `${git.stdout.trim()}${dirty.stdout.trim() ? '+dirty' : ''}` : 'none (no commits yet)',
    drkitVersion: cliExists ? (firstLine(`${q(process.execPath)} ${q(cli)} --version`) ?? 'unknown') : 'not built',
    tools: {
      tar: firstLine('tar --version'),
      gzip: firstLine('gzip --version'),
      zstd: firstLine('zstd --version'),
      sha256sum: firstLine('sha256sum --version'),
      restic: firstLine('restic version'),
      borg: firstLine('borg --version'),
    },
  };
}

async function main() {
  const opt = parseOptions(process.argv.slice(2), process.env);
  if (opt.list) {
    for (const s of STEPS) console.log(`${s.id.padEnd(24)} ${s.label}`);
    console.log(`${'scheduler-idle'.padEnd(24)} drkit-scheduler idle for 60 s: default plan, nothing due`);
    return;
  }
  const unknown = opt.only.filter((id) => id !== 'scheduler-idle' && !STEPS.some((s) => s.id === id));
  if (unknown.length) die(`unknown step id(s) in --only: ${unknown.join(', ')} (see --list)`);
  const selected = opt.only.length ? STEPS.filter((s) => opt.only.includes(s.id)) : STEPS;
  const idleWanted = !opt.only.length || opt.only.includes('scheduler-idle');

  const timeInfo = detectTime();
  if (!timeInfo.ok) {
    log(`WARNING: ${timeInfo.why}; peak RSS cannot be measured, reporting wall time only.`);
    log('         install GNU time with:  apt-get install -y time');
  }

  // tree
  const treeDir = path.join(opt.work, `tree-scale-${opt.scale}`);
  const scratch = path.join(opt.work, 'scratch');
  const logsDir = path.join(scratch, 'logs');
  mkdirSync(opt.work, { recursive: true });
  log(`reference tree: ${treeDir}`);
  const gen = generateTree(treeDir, { scale: opt.scale, log });
  // The tree is read once here, untimed: a reused tree may not be in the page cache yet (after a
  // reboot, say), and then the first timed run would pay for reading it from disk.
  const warmStart = Date.now();
  const treeStat = walk(treeDir, { read: true }); // includes the marker file
  const treeBytes = treeStat.bytes;
  log(`page cache warmed with the tree in ${((Date.now() - warmStart) / 1000).toFixed(1)} s`);

  // Large deletes slow down file creation for minutes afterwards (below), so the time of the
  // last one is kept in the work dir, and a run that starts soon after one says so.
  const cleanupMark = path.join(opt.work, 'last-cleanup.json');
  const emptied = (dir) => {
    const free = () => statfsSync(opt.work).ffree;
    const before = free();
    rmSync(dir, { recursive: true, force: true });
    const inodes = free() - before;
    if (inodes >= LARGE_DELETE)
      writeFileSync(cleanupMark, `${JSON.stringify({ at: new Date().toISOString(), inodes })}\n`);
  };
  emptied(scratch); // what --keep or an interrupted run left
  const sinceCleanupMin = minutesSince(cleanupMark);
  if (sinceCleanupMin != null && sinceCleanupMin < SETTLE_MIN)
    log(
      `WARNING: a bench emptied its scratch dir ${sinceCleanupMin.toFixed(1)} min ago; for ~${SETTLE_MIN} ` +
        `min after a large delete, creating many files is slower, so the first restores will be too. ` +
        `For figures to compare, start again in ${Math.ceil(SETTLE_MIN - sinceCleanupMin)} min.`,
    );
  mkdirSync(logsDir, { recursive: true });
  // What steps delete between runs is moved here and deleted only at the end. On ext4 without a
  // journal, creating files within minutes of deleting many scans past every recently freed
  // inode (ext4's recently_deleted check), which made each restore slower than the one before.
  const trash = path.join(scratch, 'trash');
  mkdirSync(trash);
  let discarded = 0;

  const cliExists = existsSync(opt.cli);
  const c = {
    q,
    node: process.execPath,
    cli: opt.cli,
    cliRel: path.relative(ROOT, opt.cli) || opt.cli,
    cliExists,
    tree: treeDir,
    treeBytes,
    discard: (...paths) =>
      paths
        .map((p) => `if [ -e ${q(p)} ]; then mv ${q(p)} ${q(path.join(trash, String(++discarded)))}; fi`)
        .join(' && '),
    scale: opt.scale,
    runs: opt.runs,
    file: (name) => path.join(scratch, name),
    readJson: (p) => {
      try {
        return { json: JSON.parse(readFileSync(p, 'utf8')) };
      } catch (e) {
        return { jsonError: `could not parse ${path.basename(p)}: ${e.message}` };
      }
    },
    compareWithTree: (dir) => {
      if (!existsSync(dir)) return `restore target ${path.basename(dir)} does not exist`;
      const got = walk(dir);
      if (got.files === treeStat.files && got.bytes === treeStat.bytes) return null;
      return `restored ${got.files} files / ${got.bytes} B, tree has ${treeStat.files} files / ${treeStat.bytes} B`;
    },
  };

  const machine = machineInfo(cliExists, opt.cli);
  const results = new Map();

  // Run a step's command once, untimed, to produce what another step needs.
  const ensure = async (id, chain = []) => {
    const r = results.get(id);
    if (r?.status === 'ok') return null;
    if (r && r.status !== 'ok') return `prerequisite ${id} ${r.status}: ${r.message ?? ''}`.trim();
    const step = STEPS.find((s) => s.id === id);
    if (!step) return `unknown prerequisite ${id}`;
    if (chain.includes(id)) return `prerequisite cycle ${[...chain, id].join(' -> ')}`;
    log(`${id}: running once (untimed) as prerequisite`);
    const { res } = await runStep(step, 1, [...chain, id], false);
    return res.status === 'ok' ? null : `prerequisite ${id} ${res.status}: ${res.message ?? ''}`.trim();
  };

  // A step runs in three parts, so that runs of different steps can take turns: open() checks its
  // tools and prerequisites, runOnce() times one run, close() measures outputs, checks, cleans up.
  const open = async (step, chain, record) => {
    const res = { id: step.id, label: step.label, group: step.group ?? '', status: 'ok', runs: [] };
    const s = { step, res, record, env: null, finished: false };
    s.done = (status, message) => {
      res.status = status;
      if (message) res.message = message;
      if (record || status === 'ok') results.set(step.id, res);
      if (status !== 'ok') log(`${step.id}: ${status.toUpperCase()}: ${message}`);
      s.finished = true;
      return res;
    };
    const missing = (step.tools ?? []).filter((t) => !hasCommand(t));
    if (missing.length) {
      const hints = missing.map((t) => step.install?.[t] ?? `apt-get install -y ${t}`);
      s.done('skipped', `${missing.join(', ')} not installed (${[...new Set(hints)].join('; ')})`);
      return s;
    }
    const why = step.available?.(c);
    if (why) {
      s.done('failed', why);
      return s;
    }
    for (const dep of step.requires ?? []) {
      const err = await ensure(dep, chain);
      if (err) {
        s.done('failed', err);
        return s;
      }
    }
    // drkit's change cache (encrypted repos) lives in the scratch dir too, never in ~.
    s.env = { ...process.env, DRKIT_CACHE_DIR: c.file('drkit-cache'), ...(step.env?.(c) ?? {}) };
    res.command = step.command(c);
    return s;
  };

  const runOnce = async (s, i, runs) => {
    const { step, res, record, env } = s;
    const tag = `${step.id}.${record ? `run${i}` : 'prereq'}`;
    const timeout = opt.timeoutGiven ? opt.timeout : (step.timeout?.(c) ?? opt.timeout);
    if (freeBytes(scratch) < 3 * treeBytes && readdirSync(trash).length > 0) {
      log('disk space is low: emptying the trash now (the next run may create files more slowly)');
      emptied(trash);
      mkdirSync(trash);
    }
    if (step.prepare) {
      const p = sh(step.prepare(c), { cwd: scratch, env });
      if (p.code !== 0) return s.done('failed', `prepare failed (exit ${p.code}): ${p.stderr.trim().slice(0, 200)}`);
    }
    // Untimed: the tree back in the page cache (borg drops the pages of every file it reads, with
    // posix_fadvise DONTNEED), and the previous run's writes on the disk, not in this run's time.
    walk(treeDir, { read: true });
    sh('sync', { cwd: scratch, env });
    const r = await timedRun(res.command, {
      cwd: scratch,
      env,
      timeout,
      useTime: timeInfo.ok,
      timeFile: path.join(logsDir, `${tag}.time`),
      outFile: path.join(logsDir, `${tag}.out`),
      errFile: path.join(logsDir, `${tag}.err`),
    });
    res.runs.push(r);
    const rss = r.peakRssKiB != null ? `, peak RSS ${(r.peakRssKiB / 1024).toFixed(0)} MiB` : '';
    log(
      `${step.id} ${record ? `run ${i}/${runs}` : 'prerequisite'}: ${r.wallSeconds.toFixed(2)} s${rss}, ` +
        `exit ${r.exitCode}`,
    );
    if (r.exitCode !== 0) {
      const why = r.timedOut ? `timed out after ${timeout} s` : `exit ${r.exitCode}`;
      const detail = tail(path.join(logsDir, `${tag}.err`)) || tail(path.join(logsDir, `${tag}.out`));
      return s.done('failed', `${why}${detail ? `: ${detail}` : ''}`);
    }
    // What the step made can serve steps that need it from now on (their prerequisite is met).
    results.set(step.id, res);
  };

  const close = (s) => {
    const { step, res, env } = s;
    if (step.outputs) res.outputBytes = duBytes(step.outputs(c));
    const warn = step.check?.(c);
    if (warn) res.warning = warn;
    if (step.collect) {
      const info = step.collect(c);
      if (info) {
        res.info = info;
        const codec = findCodec(info.json);
        if (codec) res.codec = codec;
      }
    }
    if (step.cleanup) sh(step.cleanup(c), { cwd: scratch, env });
    return s.done('ok');
  };

  const runStep = async (step, runs, chain, record) => {
    const s = await open(step, chain, record);
    for (let i = 1; i <= runs && !s.finished; i++) await runOnce(s, i, runs);
    if (!s.finished) close(s);
    return s;
  };

  const t0 = Date.now();
  const opened = [];
  // A step may run fewer times than --runs (`runs`, e.g. a simulation whose figure is a size).
  const runsOf = (step) => Math.min(step.runs ?? opt.runs, opt.runs);
  if (opt.sequential) {
    for (const step of selected) {
      const runs = runsOf(step);
      log(`--- ${step.id} (${runs} run${runs > 1 ? 's' : ''})`);
      opened.push(await runStep(step, runs, [step.id], true));
    }
  } else {
    // Rounds: every step's first run, then every step's second run, ... A ratio of two steps'
    // medians then compares runs spread over the same stretch of time, not runs minutes apart
    // while the machine's state (page cache, freed inodes, other load) drifts.
    for (let i = 1; i <= opt.runs; i++) {
      log(`--- round ${i}/${opt.runs}`);
      for (const [k, step] of selected.entries()) {
        if (i === 1) opened.push(await open(step, [step.id], true));
        const s = opened[k];
        // A step with fewer runs takes the last rounds, after the other steps' runs of those rounds.
        const late = opt.runs - runsOf(step);
        if (s.finished || i <= late) continue;
        await runOnce(s, i - late, runsOf(step));
        if (!s.finished && i === opt.runs) close(s);
      }
    }
  }
  const rows = [];
  for (const { step, res } of opened) {
    const mib = (kib) => round(median(res.runs.map((r) => (r[kib] == null ? null : r[kib] / 1024))), 1);
    res.median = {
      wallSeconds: round(median(res.runs.map((r) => r.wallSeconds)), 3),
      peakRssMiB: mib('peakRssKiB'),
      anonMiB: mib('anonKiB'),
      fileMiB: mib('fileKiB'),
    };
    if (res.status !== 'ok') res.median = { wallSeconds: null, peakRssMiB: null, anonMiB: null, fileMiB: null };
    res.mbPerSec = res.median.wallSeconds ? round(treeBytes / 1e6 / res.median.wallSeconds, 1) : null;
    if (step.rate) {
      // Steps that do not read the tree report their own rate (e.g. keys/s) instead of MB/s.
      const { count, unit } = step.rate(c);
      res.rate = { count, unit, perSecond: res.median.wallSeconds ? Math.round(count / res.median.wallSeconds) : null };
      res.mbPerSec = null;
    }
    rows.push({ step, res });
  }

  // anchors and targets: ratios of medians, this step ÷ anchor
  const ratioOf = (res, a, kind) => {
    if (res.status !== 'ok' || a?.status !== 'ok' || !a.median) return null;
    const [x, y] =
      kind === 'time'
        ? [res.median.wallSeconds, a.median.wallSeconds]
        : kind === 'rss'
          ? [res.median.peakRssMiB, a.median.peakRssMiB]
          : [res.outputBytes, a.outputBytes];
    return x != null && y ? x / y : null;
  };
  const whyNoRatio = (res, a) => {
    if (res.status !== 'ok') return `this step ${res.status}`;
    if (!a) return 'anchor not run';
    if (a.status !== 'ok') return `anchor ${a.status}`;
    return a.median ? 'no figure' : 'anchor ran only as an untimed prerequisite';
  };
  for (const { step, res } of rows) {
    res.anchors = [];
    const targets = step.targets ?? {};
    for (const aid of new Set([...(step.anchors ?? []), ...Object.keys(targets)])) {
      const a = results.get(aid);
      const anchorLabel = STEPS.find((s) => s.id === aid)?.label ?? aid;
      const entry = { id: aid, label: anchorLabel, timeRatio: null, sizeRatio: null, rssRatio: null };
      entry.timeRatio = round(ratioOf(res, a, 'time'), 2);
      if (step.group === 'backup') entry.sizeRatio = round(ratioOf(res, a, 'size'), 2);
      entry.rssRatio = round(ratioOf(res, a, 'rss'), 2);
      res.anchors.push(entry);
    }
    res.targets = [];
    for (const [aid, spec] of Object.entries(targets)) {
      const a = results.get(aid);
      for (const [kind, limit] of Object.entries(typeof spec === 'number' ? { time: spec } : spec)) {
        const ratio = ratioOf(res, a, kind);
        const t = { anchor: aid, kind, limit, ratio: round(ratio, 3), met: ratio == null ? null : ratio <= limit };
        if (ratio == null) t.why = whyNoRatio(res, a);
        res.targets.push(t);
      }
    }
  }

  if (!opt.keep) emptied(scratch);

  const codec = rows.map((r) => r.res.codec).find(Boolean) ?? null;
  const report = {
    schema: 1,
    date: new Date().toISOString(),
    totalSeconds: round((Date.now() - t0) / 1000, 1),
    minutesSinceLastCleanup: sinceCleanupMin == null ? null : round(sinceCleanupMin, 1),
    options: {
      scale: opt.scale,
      runs: opt.runs,
      order: opt.sequential ? 'sequential' : 'rounds',
      work: opt.work,
      only: opt.only,
      timeout: opt.timeout,
      cli: c.cliRel,
    },
    machine: { ...machine, gnuTime: timeInfo.ok ? timeInfo.version : null, drkitCodec: codec },
    targets: { node: TARGET_NODE, apply: Number(process.versions.node.split('.')[0]) === TARGET_NODE },
    tree: {
      dir: treeDir,
      scale: opt.scale,
      generatorVersion: GENERATOR_VERSION,
      files: treeStat.files,
      bytes: treeBytes,
      dirs: gen.dirs,
      generatedSeconds: gen.reused ? null : round(gen.seconds, 2),
      reused: gen.reused,
    },
    steps: rows.map(({ res }) => res),
    // The daemon alone, after the steps (so their load does not count against it).
    schedulerIdle: idleWanted ? await measureSchedulerIdle({ seconds: 60 }) : null,
  };
  const md = renderMarkdown(report, timeInfo);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(OUT_DIR, 'latest.md'), md);
  console.log(md);
  log(`wrote ${path.relative(ROOT, path.join(OUT_DIR, 'latest.md'))} and latest.json`);
}

// ---------------------------------------------------------------------------------------------
// report

const fmt = (x, d = 2) => (x == null ? '–' : x.toFixed(d));
// Every run, in order: a median hides the spread that decides a verdict near its limit.
const runsText = (runs) =>
  runs
    .map((r) => `${fmt(r.wallSeconds)}${r.peakRssKiB == null ? '' : ` (${fmt(r.peakRssKiB / 1024, 0)})`}`)
    .join(', ') || '–';
const split = (m) => (m.anonMiB == null ? '–' : `${fmt(m.anonMiB, 0)} + ${fmt(m.fileMiB, 0)}`);
const cell = (s) => String(s).replaceAll('|', '\\|').replaceAll('\n', ' ');

function renderMarkdown(rep, timeInfo) {
  const m = rep.machine;
  const t = rep.tree;
  const L = [];
  L.push('# drkit benchmark');
  L.push('');
  L.push(
    `- date: ${rep.date}, commit ${m.commit}, drkit ${m.drkitVersion}` +
      `${m.drkitCodec ? `, codec reported by drkit: ${m.drkitCodec}` : ''}`,
  );
  L.push(`- machine: node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB RAM, ${m.platform}`);
  L.push(
    `- tools: ${Object.entries(m.tools)
      .map(([k, v]) => `${k}: ${v ?? 'MISSING'}`)
      .join('; ')}`,
  );
  L.push(
    `- tree: scale ${t.scale} (generator v${t.generatorVersion}), ${t.files} files, ${t.dirs} ` +
      `dirs, ${fmt(t.bytes / MiB, 1)} MiB` +
      (t.reused ? ' (reused)' : `, generated in ${fmt(t.generatedSeconds, 1)} s`),
  );
  const noTime = timeInfo.ok ? '' : '; **GNU time missing (`apt-get install -y time`): no RSS figures**';
  const order =
    rep.options.order === 'rounds' ? 'in rounds (one run of every step per round)' : 'one step after the other';
  L.push(`- ${rep.options.runs} run(s) per step, ${order}, medians shown; warm page cache, no warm-up run${noTime}`);
  const since = rep.minutesSinceLastCleanup;
  if (since != null && since < SETTLE_MIN)
    L.push(
      `- **started ${fmt(since, 1)} min after a bench emptied its scratch dir**: the first restores may be ` +
        `slower (docs/BENCHMARKS.md, "What is measured")`,
    );
  L.push('');
  L.push(
    `| step | median wall s | runs: wall s (peak RSS MiB) | MB/s (or rate) | peak RSS MiB | of which anon + ` +
      `file MiB | output MiB | ratio vs anchor | target (Node ${rep.targets.node}) |`,
  );
  L.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |');
  const notes = [];
  const tally = { met: 0, 'not met': 0, 'n/a': 0 };
  const targetText = (r) =>
    (r.targets ?? [])
      .map((t) => {
        const label =
          rep.steps.find((s) => s.id === t.anchor)?.label ?? STEPS.find((s) => s.id === t.anchor)?.label ?? t.anchor;
        const what = t.kind === 'time' ? '' : `${t.kind === 'rss' ? 'RSS' : t.kind} `;
        const verdict = t.met == null ? 'n/a' : t.met ? 'met' : 'not met';
        tally[verdict]++;
        const digits = Math.abs(t.ratio - t.limit) < 0.005 ? 3 : 2; // 1.053 must not read as 1.05
        const shown = t.met == null ? `n/a (${t.why})` : `${t.met ? 'met' : '**not met**'} (${fmt(t.ratio, digits)}×)`;
        return `${what}≤ ${t.limit}× ${label}: ${shown}`;
      })
      .join('; ') || '–';
  for (const r of rep.steps) {
    if (r.status !== 'ok') {
      L.push(
        `| ${cell(r.label)} | **${r.status.toUpperCase()}**: ${cell(r.message ?? '')} | – | – | – | – | – | ` +
          `– | ${cell(targetText(r))} |`,
      );
      continue;
    }
    const ratios = (r.anchors ?? [])
      .map((a) => {
        if (a.timeRatio == null) return `– vs ${a.label}`;
        return `${fmt(a.timeRatio)}× ${a.label}${a.sizeRatio != null ? ` (size ${fmt(a.sizeRatio)}×)` : ''}`;
      })
      .join('; ');
    const label = r.warning ? `${r.label} ⚠` : r.label;
    L.push(
      `| ${cell(label)} | ${fmt(r.median.wallSeconds)} | ${runsText(r.runs)} ` +
        `| ${r.rate ? `${r.rate.perSecond?.toLocaleString('en') ?? '–'} ${r.rate.unit}/s` : fmt(r.mbPerSec, 0)}` +
        ` | ${fmt(r.median.peakRssMiB, 0)} | ${split(r.median)} | ` +
        `${r.outputBytes == null ? '–' : fmt(r.outputBytes / MiB, 1)} | ${cell(ratios || '–')} ` +
        `| ${cell(targetText(r))} |`,
    );
    if (r.warning) notes.push(`⚠ ${r.label}: ${r.warning}`);
  }
  L.push('');
  L.push(
    'MB/s = tree bytes (10^6) / median wall time; steps that do not read the tree show their own rate ' +
      "(Redis: keys / median wall). Peak RSS = GNU time %M, the largest single process of the step's process " +
      'tree (not a sum over a pipeline). ' +
      "Anon + file = that process's peak RssAnon (its own data) and RssFile (its binary and libraries, " +
      'resident), medians of /proc samples every 100 ms (bench/rss-sampler.mjs). ' +
      'Output = `du -sb` of the repo / archive / restore target. Ratio = drkit median wall ÷ anchor median ' +
      'wall (below 1 = drkit faster); size = drkit output ÷ anchor output. ' +
      'Target = the largest allowed ratio of medians (time unless it says size or RSS, RSS = peak RSS ÷ ' +
      'anchor peak RSS), and whether this run met it.',
  );
  if (tally.met + tally['not met'] + tally['n/a']) {
    const applies = rep.targets.apply
      ? ''
      : ` — **this run used node ${m.node}; the targets are set for Node ${rep.targets.node}, so these ` +
        `verdicts are informative only**`;
    L.push('');
    L.push(
      `Targets: ${tally.met} met, ${tally['not met']} not met, ${tally['n/a']} n/a (a step or its anchor ` +
        `did not run)${applies}.`,
    );
  }
  const skipped = rep.steps.filter((r) => r.status === 'skipped');
  if (skipped.length) {
    L.push('');
    const byWhy = new Map();
    for (const r of skipped) byWhy.set(r.message, [...(byWhy.get(r.message) ?? []), r.id]);
    const list = [...byWhy].map(([why, ids]) => `${why} → ${ids.join(', ')}`).join('; ');
    L.push(
      `Skipped (a tool is missing; those rows and the ratios against them are left out, drkit's own figures ` +
        `stand): ${list}.`,
    );
  }
  for (const n of notes) L.push(`\n${n}`);
  // A step's own table (collect() returning info.table: { title, header, rows }).
  for (const r of rep.steps.filter((x) => x.status === 'ok' && x.info?.table)) {
    const { title, header, rows } = r.info.table;
    L.push(
      '',
      title,
      '',
      `| ${header.map(cell).join(' | ')} |`,
      `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    );
    for (const row of rows) L.push(`| ${row.map(cell).join(' | ')} |`);
  }
  L.push('');
  if (rep.schedulerIdle) {
    const r = rep.schedulerIdle;
    L.push('');
    L.push(
      `drkit-scheduler idle (default plan, nothing due, ${r.seconds} s): peak RSS ${fmt(r.peakRssMiB, 1)} ` +
        `MiB (target ≤ ${IDLE_TARGETS.rssMiB}), CPU ${fmt(r.cpuSeconds, 2)} s = ${fmt(r.cpuPercent, 2)} % of ` +
        `one core (target ≤ ${IDLE_TARGETS.cpuPercent} %)${r.ok ? '' : ' **missed**'}`,
    );
  }
  return L.join('\n');
}

await main();
