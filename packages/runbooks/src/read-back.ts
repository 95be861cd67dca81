import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { JsonlChecker } from '@drkit/integrity-verifier';
import type { RedisConnection } from '@drkit/redis-source';
import { fsPath, globMatcher, type IndexEntry, messageKey, type Repository, type SourceMeta } from '@drkit/repository';

/** Something a drill found wrong, named so that a person can find it. */
export interface DrillProblem {
  phase: string;
  source?: string;
  path?: string;
  message: string;
}

export interface FileSourceCheck {
  name: string;
  type: 'files';
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  jsonl: { files: number; lines: number; invalid_lines: number };
}

export interface RedisSourceCheck {
  name: string;
  type: 'redis';
  keys: number;
  /** Keys whose expiry passed before they were restored or checked (not an error). */
  expired: number;
  dbs: { db: number; keys: number; types: Record<string, number> }[];
}

export type SourceCheck = FileSourceCheck | RedisSourceCheck;

const SMALL = 1 << 20;
const NEWLINE = 0x0a;

/** Lines in a text (a last line without a newline counts), and how many are not valid JSON. */
class LineCount {
  lines = 0;
  private last = NEWLINE;
  readonly jsonl: JsonlChecker;
  constructor(file: string) {
    this.jsonl = new JsonlChecker(file, 0);
  }
  push(chunk: Buffer): void {
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) this.lines++;
    if (chunk.length) this.last = chunk[chunk.length - 1]!;
    this.jsonl.push(chunk);
  }
  end(): { lines: number; invalid: number } {
    this.jsonl.end();
    return { lines: this.lines + (this.last === NEWLINE ? 0 : 1), invalid: this.jsonl.total };
  }
}

/**
 * Reads every entry of a restored file source back from `root` and checks it against the
 * snapshot's index: type, size, sha256, link target; then the counts against the snapshot's
 * stats, and JSONL files' lines.
 */
export async function checkRestoredFiles(
  repo: Repository,
  source: SourceMeta,
  root: string,
  jsonlGlobs: string[],
  problem: (p: Omit<DrillProblem, 'phase'>) => void,
  signal?: AbortSignal,
): Promise<FileSourceCheck> {
  const isJsonl = globMatcher(jsonlGlobs);
  const out: FileSourceCheck = {
    name: source.name,
    type: 'files',
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    jsonl: { files: 0, lines: 0, invalid_lines: 0 },
  };
  const recordedInvalid = new Map<string, number>();
  for (const f of source.findings)
    if (f.kind === 'invalid-jsonl' && f.path) recordedInvalid.set(f.path, (recordedInvalid.get(f.path) ?? 0) + 1);
  for await (const entry of repo.readIndex(source)) {
    signal?.throwIfAborted();
    const at = fsPath(path.join(root, entry.path));
    const why = await checkEntry(entry, at, isJsonl(entry.path) ? out.jsonl : undefined);
    if (why) problem({ source: source.name, path: entry.path, message: `${entry.path}: ${why}` });
    if (entry.type === 'file') {
      out.files++;
      out.bytes += entry.size ?? 0;
    } else if (entry.type === 'dir') out.dirs++;
    else if (entry.type === 'symlink') out.symlinks++;
  }
  const { stats } = source;
  for (const kind of ['files', 'dirs', 'symlinks', 'bytes'] as const)
    if (out[kind] !== stats[kind])
      problem({
        source: source.name,
        message: `the index of source "${source.name}" lists ${out[kind]} ${kind}, its metadata says ${stats[kind]}`,
      });
  // The backup recorded the invalid lines it saw (up to its cap); more now means the data changed.
  if (out.jsonl.invalid_lines > source.findingsTotal)
    problem({
      source: source.name,
      message:
        `${out.jsonl.invalid_lines} JSONL line(s) of source "${source.name}" are not valid JSON; the backup ` +
        `recorded ${source.findingsTotal} finding(s)`,
    });
  return out;
}

async function checkEntry(
  entry: IndexEntry,
  at: string | Buffer,
  jsonl: FileSourceCheck['jsonl'] | undefined,
): Promise<string | undefined> {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(at);
  } catch (e) {
    return `missing from the sandbox (${(e as Error).message})`;
  }
  if (entry.type === 'dir') return stat.isDirectory() ? undefined : 'should be a folder';
  if (entry.type === 'symlink') {
    if (!stat.isSymbolicLink()) return 'should be a symlink';
    const target = readlinkSync(at, 'buffer');
    return entry.linkTarget === undefined || target.equals(Buffer.from(fsPath(entry.linkTarget)))
      ? undefined
      : 'its link target differs from the snapshot';
  }
  if (entry.type !== 'file') return undefined;
  if (!stat.isFile()) return 'should be a file';
  if (stat.size !== (entry.size ?? 0)) return `${stat.size} bytes, the snapshot says ${entry.size ?? 0}`;
  const hash = createHash('sha256');
  const lines = jsonl ? new LineCount(entry.path) : undefined;
  if (stat.size <= SMALL) {
    const data = readFileSync(at);
    hash.update(data);
    lines?.push(data);
  } else
    for await (const chunk of createReadStream(at, { highWaterMark: SMALL }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      lines?.push(chunk);
    }
  if (lines && jsonl) {
    const { lines: n, invalid } = lines.end();
    jsonl.files++;
    jsonl.lines += n;
    jsonl.invalid_lines += invalid;
  }
  const digest = hash.digest('hex');
  return entry.sha256 === undefined || digest === entry.sha256
    ? undefined
    : `its sha256 ${digest.slice(0, 12)}… differs from the snapshot's ${entry.sha256.slice(0, 12)}…`;
}

const BATCH = 1_000;
const TYPE_AND_TTL =
  "local r = {} for i, k in ipairs(KEYS) do r[2*i-1] = redis.call('TYPE', k).ok; r[2*i] = " +
  "redis.call('PTTL', k) end return r";

/**
 * Checks every record of a Redis source against the scratch server it was restored into: the
 * key exists with the record's type and has an expiry when the record has one; then each
 * database's key count against the records'. A key whose expiry has passed may be gone.
 */
export async function checkRestoredRedis(
  repo: Repository,
  source: SourceMeta,
  conn: RedisConnection,
  now: () => number,
  problem: (p: Omit<DrillProblem, 'phase'>) => void,
  signal?: AbortSignal,
): Promise<RedisSourceCheck> {
  const out: RedisSourceCheck = { name: source.name, type: 'redis', keys: 0, expired: 0, dbs: [] };
  const dbs = new Map<number, RedisSourceCheck['dbs'][number]>();
  let batch: { db: number; key: Buffer; type: string; expireAt: number }[] = [];
  const flush = async () => {
    signal?.throwIfAborted();
    const byDb = new Map<number, typeof batch>();
    for (const r of batch) {
      const list = byDb.get(r.db) ?? [];
      byDb.set(r.db, list);
      list.push(r);
    }
    for (const [db, records] of byDb) {
      const client = await conn.forDb(db);
      // One script call per batch answers TYPE and PTTL of every key: a reply per key cost
      // the client more than the server's work (1M keys: ~2× slower as 2M pipelined commands).
      const answers = (await client.call('EVAL', TYPE_AND_TTL, records.length, ...records.map((r) => r.key))) as (
        | string
        | number
      )[];
      const at = now();
      records.forEach((r, i) => {
        const type = String(answers[2 * i]);
        const pttl = Number(answers[2 * i + 1]);
        const expired = r.expireAt !== -1 && r.expireAt <= at;
        if (type === 'none' && expired) {
          out.expired++;
          return;
        }
        const name = type === r.type && (r.expireAt === -1) === (pttl === -1) ? '' : messageKey(r.key);
        if (type === 'none') {
          problem({
            source: source.name,
            path: `db${db} ${name}`,
            message: `key ${name} of db ${db} is missing from the scratch Redis`,
          });
          return;
        }
        if (type !== r.type)
          problem({
            source: source.name,
            path: `db${db} ${name}`,
            message: `key ${name} of db ${db} is a ${type}, its record a ${r.type}`,
          });
        if ((r.expireAt === -1) !== (pttl === -1))
          problem({
            source: source.name,
            path: `db${db} ${name}`,
            message:
              `key ${name} of db ${db} ` +
              `${pttl === -1 ? 'has no expiry, its record has one' : 'has an expiry, its record has none'}`,
          });
        const tally = dbs.get(db) ?? { db, keys: 0, types: {} };
        dbs.set(db, tally);
        tally.keys++;
        tally.types[r.type] = (tally.types[r.type] ?? 0) + 1;
        out.keys++;
      });
    }
    batch = [];
  };
  for await (const r of repo.readRedisRecords(source)) {
    batch.push({ db: r.db, key: Buffer.from(r.key), type: r.type, expireAt: r.expireAt });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  out.dbs = [...dbs.values()].sort((a, b) => a.db - b.db);
  for (const d of out.dbs) {
    const size = await (await conn.forDb(d.db)).dbsize();
    // Keys that expire between the check and DBSIZE only make the count smaller.
    if (size > d.keys)
      problem({
        source: source.name,
        message: `db ${d.db} of the scratch Redis holds ${size} keys, the snapshot's records ${d.keys}`,
      });
  }
  return out;
}
