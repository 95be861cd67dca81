import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetSnapshots, runBackup } from '@drkit/backup-core';
import { isDrkitError } from '@drkit/errors';
import { verifyRef } from '@drkit/integrity-verifier';
import { encodeMetadata, removeLocks, Repository } from '@drkit/repository';
import { executeRestore, planRestore } from '@drkit/restore-core';
import { LocalStore } from '@drkit/storage';
import { describeTree, tempDir } from '@drkit/test-support';

// Thousands of mutations of a real repository (snapshot metadata, config, index lines, tar
// headers, locks, stored bytes), each run through open, list, ls, the archive reader, unlock and
// prune, and many through restore, verify and forget --prune. Every case must end in a coded error or a correct result:
// never a write outside
// the target, a deletion of data whose metadata is still there, a hang or an uncoded error.

// 500 keeps the file near half a minute of CPU in CI; FUZZ_CASES=20000 for a deep run.
const CASES = Number(process.env.FUZZ_CASES ?? 500);
const SEED = 0x5eed_d1c7;
/** Far above what a case takes (a few ms): only a hang reaches it. */
const CASE_DEADLINE_MS = 20_000;

/** mulberry32: small, seeded, the same cases on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof prng>;

let root: string;
let cleanup: () => Promise<void>;
let repoDir: string;
let workDir: string;
let escapeDir: string;
/** The repository as built: key → bytes. */
const pristine = new Map<string, Buffer>();
/** Each snapshot's files as backed up: id → path → sha256. */
const expected = new Map<string, Map<string, string>>();
const ids: string[] = [];

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, r)));
    else out.push(r);
  }
  return out;
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('drkit-fuzz-'));
  repoDir = path.join(root, 'repo');
  workDir = path.join(root, 'work');
  escapeDir = path.join(root, 'escape');
  const tree = path.join(root, 'tree');
  await mkdir(path.join(tree, 'app/conf'), { recursive: true });
  await mkdir(path.join(tree, 'data'), { recursive: true });
  await mkdir(workDir);
  await mkdir(escapeDir);
  await writeFile(path.join(tree, 'app/conf/app.json'), '{"port": 8080}\n');
  await writeFile(path.join(tree, 'app/readme.txt'), 'hello\n');
  await writeFile(path.join(tree, 'data/events.jsonl'), '{"a":1}\n{"a":2}\n');
  await symlink('../app/conf/app.json', path.join(tree, 'data/link.json'));
  const repo = await Repository.init(new LocalStore(repoDir), { compression: 'gzip' });
  for (let i = 0; i < 3; i++) {
    await writeFile(path.join(tree, `data/hour-${i}.jsonl`), `{"i":${i}}\n`);
    if (i === 2) await writeFile(path.join(tree, 'app/readme.txt'), 'changed\n');
    const time = new Date(Date.UTC(2026, 10, 20, i));
    const { snapshot } = await runBackup(repo, {
      sources: [{ name: 'tree', type: 'files', path: tree }],
      toolVersion: 'fuzz',
      full: i === 0,
      clock: { now: () => time },
    });
    ids.push(snapshot.id);
    expected.set(
      snapshot.id,
      new Map((await describeTree(tree)).flatMap((e) => (e.sha256 ? [[e.path, e.sha256] as const] : []))),
    );
  }
  for (const key of await listFiles(repoDir)) pristine.set(key, await readFile(path.join(repoDir, key)));
}, 60_000);

afterAll(() => cleanup?.());

/** Puts the working repository back to the pristine one. */
async function reset(touched: Iterable<string>): Promise<void> {
  for (const key of await listFiles(repoDir)) if (!pristine.has(key)) await unlink(path.join(repoDir, key));
  for (const key of new Set([...touched, ...pristine.keys()])) {
    const bytes = pristine.get(key);
    if (bytes && (!existsSync(path.join(repoDir, key)) || [...touched].includes(key))) {
      await mkdir(path.dirname(path.join(repoDir, key)), { recursive: true });
      await writeFile(path.join(repoDir, key), bytes);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// mutations

const EVIL_STRINGS = () => [
  '',
  '.',
  '..',
  '../escape/x',
  '../../escape/x',
  'x/../../escape/x',
  `${escapeDir}/abs`,
  `${escapeDir}/../escape/abs`,
  'a//b',
  './a',
  'a\u0000b',
  'n'.repeat(300),
  `${'d'.repeat(200)}/`.repeat(25),
  '\udcff\ud800',
  'line\nbreak',
  ids[0]!,
  ids[1]!,
  '20991231T235959Z-ffffff',
  'data/x/../../config.json',
  'age1qqqq',
];
const EVIL_NUMBERS = [0, -1, 1.5, 0o7777 + 1, 0o100644, 2 ** 53, 2 ** 31, -(2 ** 31), 1e300, Number.MAX_SAFE_INTEGER];

function evilValue(rng: Rng, original: unknown): unknown {
  switch (rng.int(7)) {
    case 0:
      return rng.pick(EVIL_STRINGS());
    case 1:
      return rng.pick(EVIL_NUMBERS);
    case 2:
      return rng.pick([null, true, false, {}, [], [null], { path: '../x' }]);
    case 3: // one character changed
      if (typeof original === 'string' && original.length > 0) {
        const i = rng.int(original.length);
        return (
          `${original.slice(0, i)}${String.fromCharCode(original.charCodeAt(i) ^ (1 << rng.int(7)))}` +
          `${original.slice(i + 1)}`
        );
      }
      return original;
    case 4: // a type swap
      return typeof original === 'number'
        ? String(original)
        : typeof original === 'string'
          ? Number(original) || original.length
          : [original];
    case 5:
      return undefined; // removed
    default:
      return typeof original === 'number' ? original + rng.pick([1, -1, 1000, 0.5]) : rng.pick(EVIL_STRINGS());
  }
}

/** Every [container, key] in a JSON value, to mutate one of them. */
function slots(
  v: unknown,
  out: Array<[Record<string, unknown>, string]> = [],
): Array<[Record<string, unknown>, string]> {
  if (v && typeof v === 'object')
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, k]);
      slots((v as Record<string, unknown>)[k], out);
    }
  return out;
}

function mutateJson(rng: Rng, text: string): string {
  const v = JSON.parse(text);
  const all = slots(v);
  for (let n = 1 + rng.int(2); n > 0 && all.length; n--) {
    const [obj, key] = rng.pick(all);
    const value = evilValue(rng, obj[key]);
    if (value === undefined) delete obj[key];
    else obj[key] = value;
  }
  return JSON.stringify(v);
}

function flipBit(rng: Rng, b: Buffer): void {
  const i = rng.int(b.length);
  b[i] = b[i]! ^ (1 << rng.int(8));
}

/**
 * Mostly recomputes the checksum of mutated metadata, so the change
 * reaches the readers' grammar checks, not only the checksum's.
 */
function withChecksum(rng: Rng, text: string): string | Buffer {
  if (rng.next() < 0.25) return text;
  try {
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? encodeMetadata(v) : text;
  } catch {
    return text;
  }
}

function mutateBytes(rng: Rng, bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  if (b.length === 0) return b;
  switch (rng.int(3)) {
    case 0:
      return b.subarray(0, rng.int(b.length));
    case 1:
      for (let n = 1 + rng.int(4); n > 0; n--) flipBit(rng, b);
      return b;
    default: {
      const at = rng.int(b.length);
      return Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(EVIL_STRINGS())), b.subarray(at)]);
    }
  }
}

function mutateIndex(rng: Rng, text: string): string {
  const lines = text.split('\n').filter(Boolean);
  const i = rng.int(lines.length);
  switch (rng.int(5)) {
    case 0:
      lines[i] = mutateJson(rng, lines[i]!);
      break;
    case 1: {
      const e = JSON.parse(lines[i]!);
      e[rng.pick(['path', 'path', 'linkTarget', 'in'])] = rng.pick(EVIL_STRINGS());
      lines[i] = JSON.stringify(e);
      break;
    }
    case 2:
      lines.splice(rng.int(lines.length), 0, lines[i]!); // a duplicate
      break;
    case 3:
      lines.splice(i, 1);
      break;
    default:
      return mutateBytes(rng, Buffer.from(lines.join('\n'))).toString('utf8');
  }
  return `${lines.join('\n')}\n`;
}

/** A tar header's checksum, so a mutated header reaches the parser beyond it. */
function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

function mutateTar(rng: Rng, tar: Buffer): Buffer {
  const b = Buffer.from(tar);
  // Header blocks: those with "ustar" at 257.
  const headers: number[] = [];
  for (let at = 0; at + 512 <= b.length; at += 512)
    if (b.toString('latin1', at + 257, at + 262) === 'ustar') headers.push(at);
  const at = rng.pick(headers);
  const block = b.subarray(at, at + 512);
  switch (rng.int(5)) {
    case 0: {
      const name = Buffer.from(rng.pick(EVIL_STRINGS())).subarray(0, 100);
      block.fill(0, 0, 100);
      name.copy(block, 0);
      break;
    }
    case 1: // size
      block.write(
        rng.pick(['77777777777\0', '00000000000\0', 'zzzz', '\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff']),
        124,
        'latin1',
      );
      break;
    case 2: // type flag
      block[156] = rng.pick([0x31, 0x32, 0x33, 0x36, 0x78, 0x4c, 0x67, 0x35, 0x30, 0x41]);
      break;
    case 3: // link name
      block.fill(0, 157, 257);
      Buffer.from(rng.pick(EVIL_STRINGS())).subarray(0, 100).copy(block, 157);
      break;
    default:
      for (let n = 1 + rng.int(3); n > 0; n--) flipBit(rng, block);
  }
  if (rng.next() < 0.8) fixChecksum(block);
  return rng.next() < 0.1 ? b.subarray(0, rng.int(b.length)) : b;
}

/**
 * Rewrites the metadata that names `key`, so that the blob's digest matches again and the damage reaches the reader.
 */
async function refreshDigest(key: string, bytes: Buffer, touched: Set<string>): Promise<void> {
  const id = key.split('/')[1]!;
  const metaKey = `snapshots/${id}.json`;
  const meta = JSON.parse((await readFile(path.join(repoDir, metaKey))).toString('utf8'));
  for (const s of meta.sources)
    for (const ref of [s.archive, s.index])
      if (ref?.key === key)
        Object.assign(ref, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  await writeFile(path.join(repoDir, metaKey), encodeMetadata(meta));
  touched.add(metaKey);
}

interface Mutation {
  what: string;
  touched: Set<string>;
  /** Keys the mutation deleted: their loss is the mutation's, not a reader's. */
  deleted: Set<string>;
}

async function mutate(rng: Rng): Promise<Mutation> {
  const keys = [...pristine.keys()];
  const m: Mutation = { what: '', touched: new Set(), deleted: new Set() };
  const put = async (key: string, bytes: Buffer | string) => {
    await mkdir(path.dirname(path.join(repoDir, key)), { recursive: true });
    await writeFile(path.join(repoDir, key), bytes);
    m.touched.add(key);
  };
  const kind = rng.pick([
    'meta',
    'meta-ids',
    'meta-ids',
    'meta-bytes',
    'config',
    'index',
    'index',
    'index',
    'tar',
    'tar',
    'tar',
    'blob',
    'lock',
    'delete',
  ] as const);
  m.what = kind;
  if (kind === 'meta' || kind === 'meta-bytes') {
    const key = rng.pick(keys.filter((k) => k.startsWith('snapshots/')));
    const text = pristine.get(key)!.toString('utf8');
    m.what += ` ${key}`;
    await put(key, kind === 'meta' ? withChecksum(rng, mutateJson(rng, text)) : mutateBytes(rng, Buffer.from(text)));
  } else if (kind === 'meta-ids') {
    // The fields that name things: ids, source names, blob keys, holders.
    const key = rng.pick(keys.filter((k) => k.startsWith('snapshots/')));
    const meta = JSON.parse(pristine.get(key)!.toString('utf8'));
    const source = meta.sources[0];
    const [obj, field] = rng.pick<[Record<string, unknown>, string]>([
      [meta, 'id'],
      [meta, 'id'],
      [meta, 'parent'],
      [meta, 'base'],
      [source, 'name'],
      [source.archive, 'key'],
      [source.index, 'key'],
      [source, 'holders'],
      [meta, 'tags'],
    ]);
    // Mostly well-formed: another snapshot's id, or one character changed (a valid id of no snapshot).
    const own = typeof obj[field] === 'string' ? (obj[field] as string) : meta.id;
    const value = rng.pick([
      () => rng.pick(ids),
      () => `${own.slice(0, -1)}${own.endsWith('0') ? '1' : '0'}`,
      () => evilValue(rng, obj[field]),
    ])();
    if (value === undefined) delete obj[field];
    else obj[field] = field === 'holders' || field === 'tags' ? [value] : value;
    m.what += ` ${key} ${field}=${JSON.stringify(value)}`;
    // a hostile writer can compute checksums too: the grammar must hold on its own
    await put(key, encodeMetadata(meta));
  } else if (kind === 'config') {
    const text = pristine.get('config.json')!.toString('utf8');
    await put(
      'config.json',
      rng.next() < 0.7 ? withChecksum(rng, mutateJson(rng, text)) : mutateBytes(rng, Buffer.from(text)),
    );
  } else if (kind === 'index' || kind === 'tar') {
    const key = rng.pick(keys.filter((k) => k.endsWith(kind === 'index' ? '.index.jsonl.gz' : '.tar.gz')));
    const plain = gunzipSync(pristine.get(key)!);
    const bytes = gzipSync(
      kind === 'index' ? Buffer.from(mutateIndex(rng, plain.toString('utf8'))) : mutateTar(rng, plain),
    );
    m.what += ` ${key}`;
    await put(key, bytes);
    if (rng.next() < 0.85) await refreshDigest(key, bytes, m.touched);
  } else if (kind === 'blob') {
    const key = rng.pick(keys.filter((k) => k.startsWith('data/')));
    const bytes = mutateBytes(rng, pristine.get(key)!);
    m.what += ` ${key}`;
    await put(key, bytes);
    if (rng.next() < 0.5) await refreshDigest(key, bytes, m.touched);
  } else if (kind === 'lock') {
    const now = new Date().toISOString();
    const lock: Record<string, unknown> = {
      id: 'x',
      exclusive: true,
      host: hostname(),
      pid: 2 ** 22 + 11,
      purpose: 'fuzz',
      time: now,
      refreshed: now,
    };
    const text = mutateJson(rng, JSON.stringify(lock));
    const name = rng.pick(['fuzz', '20261120T000000000Z-0badf00d', 'x.y']);
    m.what += ` ${text}`;
    await put(`locks/${name}.json`, text);
  } else {
    const key = rng.pick(keys.filter((k) => k !== 'config.json'));
    m.what += ` ${key}`;
    await unlink(path.join(repoDir, key));
    m.deleted.add(key);
    m.touched.add(key);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// the readers, and what each case must never do

/** Runs one reader; a coded error is a fine end, anything else fails the case. */
async function expectCoded<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (!isDrkitError(err) || err.code === 'INTERNAL')
      throw new Error(`${what}: an uncoded error: ${(err as Error)?.stack ?? err}`);
    return undefined;
  }
}

/**
 * Cheap readers on every case, prune on every 2nd, restore on every 8th, verify and forget on every 50th (each verify
 * starts a worker thread).
 */
async function runReaders(rng: Rng, caseNo: number, m: Mutation): Promise<void> {
  const store = new LocalStore(repoDir);
  const repo = await expectCoded('open', () => Repository.open(store));
  if (!repo) return;
  const listed = (await expectCoded('list', () => repo.listSnapshots())) ?? [];
  // The snapshot the mutation touched, if any: the one whose readers matter.
  const touched = ids.find((x) => m.what.includes(x));
  for (const s of listed.filter((x) => !touched || x.id === touched))
    for (const src of s.sources) {
      // ls reads the index; the archive reader sees every tar header.
      await expectCoded(`ls ${s.id}`, async () => {
        for await (const _ of repo.readIndex(src));
      });
      await expectCoded(`read ${src.archive.key}`, async () => {
        for await (const e of repo.readArchive(src)) for await (const _ of e.stream);
      });
    }
  await expectCoded('unlock', () => removeLocks(store, { all: false }));
  const id = touched ?? rng.pick(ids);
  if (caseNo % 8 === 0) {
    const target = path.join(workDir, `t${caseNo}`);
    const result = await expectCoded(`restore ${id}`, async () =>
      executeRestore(repo, await planRestore(repo, { snapshot: id, target, sources: ['tree'] })),
    );
    if (result) {
      // A restore that succeeds restores what was backed up.
      const want = expected.get(id)!;
      for (const e of await describeTree(target))
        if (e.type === 'file') expect(e.sha256, `${id}: ${e.path}`).toBe(want.get(e.path));
    }
  }
  if (caseNo % 50 === 0) {
    await expectCoded(`verify ${id}`, () => verifyRef(repo, id));
    await expectCoded('forget --prune', () =>
      forgetSnapshots(repo, { policy: { keepLast: 1 }, now: new Date(), prune: true }),
    );
  } else if (caseNo % 2 === 1 || m.what.startsWith('lock')) await expectCoded('prune', async () => repo.pruneData());
}

/** The data of every snapshot whose metadata file is still there is still there. */
async function liveDataKept(m: Mutation): Promise<void> {
  const files = new Set(await listFiles(repoDir));
  for (const key of pristine.keys()) {
    const [top, id] = key.split('/');
    if (top !== 'data' || m.deleted.has(key)) continue;
    if (files.has(`snapshots/${id}.json`))
      expect(files.has(key), `${key} was deleted though snapshots/${id}.json is there (${m.what})`).toBe(true);
  }
}

describe('repository readers under mutated input', () => {
  it(`${CASES} seeded mutations of a real repository end in a coded error or a correct result`, async () => {
    const rng = prng(SEED);
    const kinds = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const m = await mutate(rng);
      kinds.set(m.what.split(' ')[0]!, (kinds.get(m.what.split(' ')[0]!) ?? 0) + 1);
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`case ${i} (${m.what}) did not finish in ${CASE_DEADLINE_MS} ms`)),
          CASE_DEADLINE_MS,
        );
      });
      try {
        await Promise.race([runReaders(rng, i, m), hang]);
      } catch (err) {
        throw new Error(`case ${i} (${m.what}): ${(err as Error).message}`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
      await liveDataKept(m);
      // Nothing outside the targets: the escape folder stays empty, and the work folder holds only this case's targets.
      expect(await readdir(escapeDir), `case ${i} (${m.what})`).toEqual([]);
      for (const name of await readdir(workDir)) expect(name, `case ${i} (${m.what})`).toBe(`t${i}`);
      await rm(workDir, { recursive: true });
      await mkdir(workDir);
      expect((await readdir(root)).sort()).toEqual(['escape', 'repo', 'tree', 'work']);
      await reset(m.touched);
    }
    // Every kind of mutation was drawn many times.
    for (const n of kinds.values()) expect(n).toBeGreaterThan(CASES / 40);
  }, 1_200_000); // ~25 ms of CPU a case; on a loaded machine (8 suites on 2 cores) the wall time is many times that
});
