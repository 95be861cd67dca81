#!/usr/bin/env node
// Storage over time: N simulated days of the DR plan (README, "Run the plan") on a copy of the
// reference tree, backed up by drkit and by restic side by side. Run by the `drkit-storage-30d`
// step (bench/steps.mjs), which makes the copy and both repositories first, untimed.
//
//   node bench/storage-sim.mjs --copy DIR --drkit-repo DIR --restic-repo DIR --days N --cli PATH --out FILE
//
// Every simulated hour, 1 % of the copy's files change (a seeded, deterministic choice: JSONL
// files get lines appended, logs grow, configs and some small records are rewritten, media blobs
// get 64 KiB overwritten in place, and a few small records are created and deleted); then
// `drkit backup --time T` (`--full` at the weekly slot, Sunday 02:00) and `restic backup --time T`
// run on the same copy. After the daily 03:00 backup both apply the plan's retention, with prune.
// The simulated days start on the Friday on or before N days ago (UTC): every --time is in the past.
// restic reads RESTIC_REPOSITORY, RESTIC_PASSWORD and RESTIC_CACHE_DIR from the environment.

import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { configFile, jsonlFile, jsonlRecord, logLine, MARKER_NAME, Xorshift128 } from './gen-tree.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CHANGE_SHARE = 0.01; // of the files, per hour
const CREATE_DELETE_SHARE = 0.05; // of the changed files, created and as many deleted (at least 1 each)
const SEED = 22; // issue 22
/** The plan's retention (README's example policy plus the monthly rule), for both tools. */
const RETENTION = { within: '30d', daily: 7, weekly: 4, monthly: 12 };
const DRKIT_RETENTION = [
  '--keep-within',
  RETENTION.within,
  '--keep-daily',
  RETENTION.daily,
  '--keep-weekly',
  RETENTION.weekly,
  '--keep-monthly',
  RETENTION.monthly,
].map(String);
const RESTIC_RETENTION = DRKIT_RETENTION; // same flags, same meaning (docs/BENCHMARKS.md: where they differ)

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['copy', 'drkit-repo', 'restic-repo', 'days', 'cli', 'out'])
    if (!o[k]) throw new Error(`missing --${k}`);
  return { ...o, days: Number(o.days) };
}

/** Sorted paths (relative, '/'-separated) of the regular files below `dir`. */
function listFiles(dir) {
  const out = [];
  const stack = [''];
  while (stack.length) {
    const rel = stack.pop();
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile() && p !== MARKER_NAME) out.push(p);
    }
  }
  return out.sort();
}

/** One hour of changes to the copy; `files` (sorted) is kept up to date. Returns counts by kind. */
export function changeHour(dir, files, r, hour) {
  const n = Math.max(1, Math.round(files.length * CHANGE_SHARE));
  const churn = Math.max(1, Math.round(n * CREATE_DELETE_SHARE));
  const done = { appended: 0, rewritten: 0, patched: 0, created: 0, deleted: 0 };
  const small = files.filter((f) => f.startsWith('small/'));
  for (let k = 0; k < churn; k++) {
    const [victim] = small.splice(r.int(small.length), 1);
    rmSync(path.join(dir, victim));
    files.splice(sortedIndex(files, victim), 1);
    done.deleted++;
  }
  for (let k = 0; k < churn; k++) {
    const folder = path.posix.dirname(small[r.int(small.length)]);
    const rel = `${folder}/rec-new-${hour}-${k}.jsonl`;
    writeFileSync(path.join(dir, rel), jsonlFile(r, 1024 + r.int(7 * 1024 + 1)));
    files.splice(sortedIndex(files, rel), 0, rel);
    done.created++;
  }
  for (let k = 0; k < n - 2 * churn; k++) {
    const rel = files[r.int(files.length)];
    const abs = path.join(dir, rel);
    if (rel.endsWith('.bin')) {
      // A media blob is edited in place: 64 KiB at an aligned offset, same size.
      const size = statSync(abs).size;
      const chunk = Buffer.allocUnsafe(Math.min(65_536, size - (size % 4)));
      r.fill(chunk);
      const fd = openSync(abs, 'r+');
      writeSync(fd, chunk, 0, chunk.length, r.int(Math.max(1, Math.floor(size / 65_536))) * 65_536);
      closeSync(fd);
      done.patched++;
    } else if (rel.endsWith('.json')) {
      writeFileSync(abs, configFile(r, r.int(1000)));
      done.rewritten++;
    } else if (rel.endsWith('.log')) {
      appendFileSync(abs, Array.from({ length: 5 + r.int(96) }, () => logLine(r)).join(''));
      done.appended++;
    } else if (rel.startsWith('small/') && r.int(5) === 0) {
      // One small record in five is rewritten whole (a document updated), the others get lines.
      writeFileSync(abs, jsonlFile(r, 1024 + r.int(7 * 1024 + 1)));
      done.rewritten++;
    } else {
      appendFileSync(abs, Array.from({ length: 1 + r.int(20) }, (_, i) => jsonlRecord(r, hour * 100 + i)).join(''));
      done.appended++;
    }
  }
  return done;
}

function sortedIndex(arr, x) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Runs a command, fails loudly on a non-zero exit, returns stdout and the wall seconds. */
function run(cmd, args, opts) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0)
    throw new Error(
      `${path.basename(cmd)} ${args.slice(0, 2).join(' ')} … exited ${r.status ?? r.signal}: ` +
        `${(r.stderr || r.stdout || '').trim().slice(-400)}`,
    );
  return { stdout: r.stdout, seconds };
}

const duBytes = (dir) => Number(spawnSync('du', ['-sb', dir], { encoding: 'utf8' }).stdout.split(/\s/)[0]);
const count = (dir) => readdirSync(dir).length;
const resticTime = (t) => t.toISOString().slice(0, 19).replace('T', ' '); // read in TZ=UTC

function main() {
  const o = parseArgs(process.argv.slice(2));
  const drkit = (args) => run(process.execPath, [o.cli, ...args, '--repo', o['drkit-repo']]);
  const restic = (args) => run('restic', args, { cwd: o.copy, env: { ...process.env, TZ: 'UTC' } });
  const files = listFiles(o.copy);
  const r = new Xorshift128(SEED);
  // Days in the past, starting on a Friday (the measured run's weekday), so every run of N days
  // has its weekly fulls on the same days (Sundays: days 3, 10, 17, 24, ...).
  const latest = Math.floor(Date.now() / DAY) * DAY - o.days * DAY;
  const start = latest - ((new Date(latest).getUTCDay() - 5 + 7) % 7) * DAY;
  const totals = { drkitBackup: 0, resticBackup: 0, drkitForget: 0, resticForget: 0, change: 0 };
  const changes = { appended: 0, rewritten: 0, patched: 0, created: 0, deleted: 0 };
  const kinds = { full: 0, incremental: 0 };
  const days = [];
  // Written after every day, so a run stopped by its time limit keeps what it measured (with --keep).
  const save = () => {
    const last = days.at(-1);
    const result = {
      days: o.days,
      daysDone: days.length,
      hours: o.days * 24,
      first: new Date(start).toISOString(),
      treeFiles: files.length,
      retention: RETENTION,
      changes,
      drkitKinds: kinds,
      seconds: Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      final: last && {
        drkitBytes: last.drkitBytes,
        resticBytes: last.resticBytes,
        ratio: Math.round((last.drkitBytes / last.resticBytes) * 100) / 100,
      },
      perDay: days,
    };
    mkdirSync(path.dirname(o.out), { recursive: true });
    writeFileSync(o.out, `${JSON.stringify(result, null, 2)}\n`);
  };
  for (let h = 0; h < o.days * 24; h++) {
    const t = new Date(start + h * HOUR);
    const t0 = process.hrtime.bigint();
    for (const [k, v] of Object.entries(changeHour(o.copy, files, r, h))) changes[k] += v;
    totals.change += Number(process.hrtime.bigint() - t0) / 1e9;
    // The plan: hourly backup, the daily one at 03:00 (same command), the weekly full on Sunday 02:00.
    const weekly = t.getUTCDay() === 0 && t.getUTCHours() === 2;
    const d = drkit(['backup', o.copy, '--time', t.toISOString(), '--json', ...(weekly ? ['--full'] : [])]);
    const snap = JSON.parse(d.stdout);
    kinds[snap.kind]++;
    totals.drkitBackup += d.seconds;
    totals.resticBackup += restic(['backup', '-q', '--time', resticTime(t), '.']).seconds;
    if (t.getUTCHours() === 3) {
      // The plan's `retention` job runs after each daily backup.
      totals.drkitForget += drkit(['forget', ...DRKIT_RETENTION, '--prune', '--json']).seconds;
      totals.resticForget += restic(['forget', '-q', ...RESTIC_RETENTION, '--prune']).seconds;
    }
    if (t.getUTCHours() === 23) {
      const row = {
        day: days.length + 1,
        date: t.toISOString().slice(0, 10),
        drkitBytes: duBytes(o['drkit-repo']),
        resticBytes: duBytes(o['restic-repo']),
        drkitSnapshots: count(path.join(o['drkit-repo'], 'snapshots')),
        resticSnapshots: count(path.join(o['restic-repo'], 'snapshots')),
        treeFiles: files.length,
      };
      days.push(row);
      console.error(
        `[storage] day ${row.day}/${o.days}: drkit ${(row.drkitBytes / 2 ** 20).toFixed(1)} MiB ` +
          `(${row.drkitSnapshots} snapshots), restic ${(row.resticBytes / 2 ** 20).toFixed(1)} MiB ` +
          `(${row.resticSnapshots})`,
      );
      save();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) main();
