#!/usr/bin/env node
// Deterministic reference tree for the drkit benchmarks.
//
//   node bench/gen-tree.mjs DIR [scale] [--force]
//
// Shape at scale 1 (every count is multiplied by `scale`, minimum 1 file per class):
//   data/shard-N/events-I.jsonl   400 JSONL files of exactly 1 MiB in 20 shard folders
//   media/blob-I.bin               16 random (incompressible) blobs of 16 MiB
//   logs/app-I.log                 50 text log files of exactly 4 MiB
//   config/svc-N/conf-I.json      200 small pretty-printed JSON configs in 20 service folders
//   small/A/B/rec-I.jsonl      20,000 JSONL files of 1-8 KiB, one per folder (100 x 200)
// Total at scale 1: 20,666 files, ~944 MiB.
//
// Every file is produced from its own xorshift128 stream, seeded from (class, index, version),
// so the same file has the same bytes at every scale and on every machine. A marker file
// (DIR/.drkit-bench-tree.json) records version + scale; a second call with the same values
// returns at once. Only node built-ins are used.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bump whenever the bytes produced for a given scale change. */
export const GENERATOR_VERSION = 2;
export const MARKER_NAME = '.drkit-bench-tree.json';

const KiB = 1024;
const MiB = 1024 * KiB;

/** File classes; the counts are for scale 1. */
export const TREE_SHAPE = [
  { name: 'data', count: 400, desc: 'JSONL 1 MiB in data/shard-N/' },
  { name: 'media', count: 16, desc: 'random 16 MiB blobs in media/' },
  { name: 'logs', count: 50, desc: 'log files 4 MiB in logs/' },
  { name: 'config', count: 200, desc: 'JSON configs in config/svc-N/' },
  { name: 'small', count: 20000, desc: 'JSONL 1-8 KiB in small/A/B/' },
];

// ---------------------------------------------------------------------------------------------
// PRNG: xorshift128 (Marsaglia 2003), 32-bit state words, period 2^128-1. The seed is spread
// over the 4 state words with a murmur3-style finaliser so nearby seeds give unrelated streams.

function fmix32(h) {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Xorshift128 {
  constructor(seed) {
    let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
    this.x = h;
    h = fmix32(h + 0x6a09e667);
    this.y = h;
    h = fmix32(h + 0xbb67ae85);
    this.z = h;
    h = fmix32(h + 0x3c6ef372);
    this.w = h;
    if ((this.x | this.y | this.z | this.w) === 0) this.w = 1;
  }
  /** Next uint32. */
  u32() {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }
  /** Integer in [0, n). */
  int(n) {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  pick(arr) {
    return arr[this.int(arr.length)];
  }
  /** Fill a buffer with random bytes (length must be a multiple of 4). */
  fill(buf) {
    const u = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    let { x, y, z, w } = this;
    for (let i = 0; i < u.length; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
      u[i] = w;
    }
    Object.assign(this, { x, y, z, w });
  }
}

const CLASS_ID = { data: 1, media: 2, logs: 3, config: 4, small: 5 };
const seedFor = (cls, i) => fmix32((CLASS_ID[cls] << 24) ^ (i * 2654435761) ^ (GENERATOR_VERSION * 0x27d4eb2d));

// ---------------------------------------------------------------------------------------------
// Content builders. Text is pure ASCII so string length == byte length.

const VOCAB = (
  'backup restore snapshot chunk index pack manifest verify checksum digest retention prune ' +
  'policy schedule volume replica primary standby failover region zone bucket object upload ' +
  'download stream queue worker shard lease lock timeout retry latency throughput cache ' +
  'session token account tenant customer invoice order payment refund shipment ' +
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima ok warn'
).split(' ');
const EVENTS = ['created', 'updated', 'deleted', 'viewed', 'exported', 'imported', 'failed', 'retried'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
const SERVICES = ['api', 'auth', 'billing', 'search', 'ingest', 'scheduler', 'mailer', 'gateway'];
const HEX = '0123456789abcdef';

function hex(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[r.int(16)];
  return s;
}

function words(r, n) {
  let s = r.pick(VOCAB);
  for (let i = 1; i < n; i++) s += ` ${r.pick(VOCAB)}`;
  return s;
}

const pad2 = (n) => (n < 10 ? `0${n}` : `${n}`);
function isoTime(r) {
  return (
    `2026-${pad2(1 + r.int(12))}-${pad2(1 + r.int(28))}T${pad2(r.int(24))}:${pad2(r.int(60))}:` +
    `${pad2(r.int(60))}.${String(r.int(1000)).padStart(3, '0')}Z`
  );
}

export function jsonlRecord(r, id) {
  return (
    `{"id":${id},"ts":"${isoTime(r)}","tenant":"t${r.int(200)}","user":"u${r.int(50000)}",` +
    `"event":"${r.pick(EVENTS)}","session":"${hex(r, 16)}","amount":${r.int(100000) / 100},` +
    `"tags":["${r.pick(VOCAB)}","${r.pick(VOCAB)}"],"note":"${words(r, 4 + r.int(24))}"}\n`
  );
}

export function logLine(r) {
  return (
    `${isoTime(r)} ${r.pick(LEVELS)} [${r.pick(SERVICES)}] req=${hex(r, 12)} ` +
    `${r.pick(VOCAB)} ${r.pick(VOCAB)} status=${r.pick([200, 200, 200, 201, 204, 304, 404, 500])} ` +
    `latency_ms=${r.int(2000)} msg="${words(r, 2 + r.int(10))}"\n`
  );
}

/**
 * Build an ASCII buffer of exactly `size` bytes out of lines from `nextLine`; the last line
 * is a filler line made by `padLine(nBytes)` so the file stays line-oriented and parseable.
 */
function exactText(size, nextLine, padLine, minPad) {
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  let i = 0;
  for (;;) {
    const line = nextLine(i++);
    if (off + line.length + minPad > size) break;
    off += buf.write(line, off, 'latin1');
  }
  const rest = size - off;
  if (rest > 0) buf.write(padLine(rest), off, 'latin1');
  return buf;
}

// {"pad":"xxxx"}\n  is 11 bytes + the x's
const jsonPad = (n) => `{"pad":"${'x'.repeat(n - 11)}"}\n`;
// # pad xxxx\n  is 7 bytes + the x's
const logPad = (n) => `# pad ${'-'.repeat(n - 7)}\n`;

export function jsonlFile(r, size) {
  return exactText(size, (i) => jsonlRecord(r, i), jsonPad, 11);
}

export function configFile(r, i) {
  const cfg = {
    service: `svc-${i % 20}`,
    instance: i,
    version: `${1 + r.int(5)}.${r.int(20)}.${r.int(50)}`,
    listen: { host: '0.0.0.0', port: 3000 + i },
    backup: {
      schedule: `${r.int(60)} ${r.int(24)} * * *`,
      retention: { daily: 7, weekly: 4, monthly: 6 + r.int(7) },
      targets: Array.from({ length: 1 + r.int(3) }, () => `s3://backups-${r.pick(VOCAB)}/${hex(r, 8)}`),
    },
    features: Object.fromEntries(Array.from({ length: 4 + r.int(40) }, () => [r.pick(VOCAB), r.int(2) === 1])),
    notes: words(r, 5 + r.int(30)),
  };
  return Buffer.from(`${JSON.stringify(cfg, null, 2)}\n`, 'latin1');
}

// ---------------------------------------------------------------------------------------------

/** Number of files of a class at `scale`. */
export const countAt = (n, scale) => Math.max(1, Math.round(n * scale));

function* plan(scale) {
  const n = Object.fromEntries(TREE_SHAPE.map((c) => [c.name, countAt(c.count, scale)]));
  for (let i = 0; i < n.data; i++) {
    yield { cls: 'data', i, rel: `data/shard-${i % 20}/events-${i}.jsonl`, make: (r) => jsonlFile(r, MiB) };
  }
  for (let i = 0; i < n.media; i++) {
    yield {
      cls: 'media',
      i,
      rel: `media/blob-${i}.bin`,
      make: (r) => {
        const b = Buffer.allocUnsafe(16 * MiB);
        r.fill(b);
        return b;
      },
    };
  }
  for (let i = 0; i < n.logs; i++) {
    yield { cls: 'logs', i, rel: `logs/app-${i}.log`, make: (r) => exactText(4 * MiB, () => logLine(r), logPad, 7) };
  }
  for (let i = 0; i < n.config; i++) {
    yield { cls: 'config', i, rel: `config/svc-${i % 20}/conf-${i}.json`, make: (r) => configFile(r, i) };
  }
  for (let i = 0; i < n.small; i++) {
    // One folder per record, as real per-user stores grow: the walk cost is part of the benchmark.
    const a = i % 100;
    const b = Math.floor(i / 100);
    yield {
      cls: 'small',
      i,
      rel: `small/${a}/${b}/rec-${i}.jsonl`,
      make: (r) => jsonlFile(r, KiB + r.int(7 * KiB + 1)),
    };
  }
}

function readMarker(dir) {
  try {
    return JSON.parse(readFileSync(path.join(dir, MARKER_NAME), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Generate (or reuse) the reference tree in `dir`.
 * @param {string} dir
 * @param {{scale?: number, force?: boolean, log?: (msg: string) => void}} [opts]
 * @returns {{dir: string, scale: number, version: number, files: number, bytes: number,
 *            dirs: number, seconds: number, reused: boolean}}
 *   files/bytes count the generated files only (not the marker file).
 */
export function generateTree(dir, opts = {}) {
  const scale = Number(opts.scale ?? 1);
  const log = opts.log ?? (() => {});
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`invalid scale: ${opts.scale}`);
  dir = path.resolve(dir);

  const marker = readMarker(dir);
  if (marker && marker.version === GENERATOR_VERSION && marker.scale === scale && !opts.force) {
    log(`tree ${dir} already generated (scale ${scale}, v${GENERATOR_VERSION}); reusing it`);
    return { ...marker, dir, seconds: 0, reused: true };
  }

  let existing = [];
  try {
    existing = readdirSync(dir);
  } catch {}
  if (existing.length > 0) {
    // Only wipe a directory we made ourselves: one with our marker (other scale/version), or --force.
    if (!marker && !opts.force) {
      throw new Error(`${dir} is not empty and has no ${MARKER_NAME}; refusing to overwrite (use --force)`);
    }
    log(`removing old tree in ${dir}`);
    for (const name of existing) rmSync(path.join(dir, name), { recursive: true, force: true });
  }

  const t0 = process.hrtime.bigint();
  mkdirSync(dir, { recursive: true });
  const madeDirs = new Set();
  let files = 0;
  let bytes = 0;
  let lastLog = Date.now();
  for (const f of plan(scale)) {
    const abs = path.join(dir, f.rel);
    const parent = path.dirname(abs);
    if (!madeDirs.has(parent)) {
      mkdirSync(parent, { recursive: true });
      madeDirs.add(parent);
    }
    const data = f.make(new Xorshift128(seedFor(f.cls, f.i)));
    writeFileSync(abs, data);
    files++;
    bytes += data.length;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`  ... ${files} files, ${(bytes / MiB).toFixed(0)} MiB`);
    }
  }
  const dirs = countDirs(dir);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Only deterministic facts go in the marker: it sits inside the tree and is backed up with it.
  const info = { scale, version: GENERATOR_VERSION, files, bytes, dirs };
  writeFileSync(path.join(dir, MARKER_NAME), `${JSON.stringify(info, null, 2)}\n`);
  log(`generated ${files} files, ${(bytes / MiB).toFixed(1)} MiB in ${seconds.toFixed(1)} s`);
  return { ...info, dir, seconds, reused: false };
}

function countDirs(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += 1 + countDirs(path.join(dir, e.name));
  }
  return n;
}

// ---------------------------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const pos = args.filter((a) => !a.startsWith('--'));
  if (pos.length < 1 || args.includes('--help')) {
    console.error('usage: node bench/gen-tree.mjs DIR [scale] [--force]');
    process.exit(pos.length < 1 ? 2 : 0);
  }
  try {
    const res = generateTree(pos[0], { scale: pos[1] === undefined ? 1 : Number(pos[1]), force, log: console.error });
    console.log(JSON.stringify(res));
  } catch (err) {
    console.error(`gen-tree: ${err.message}`);
    process.exit(1);
  }
}
