import { createHash } from 'node:crypto';
import { failpoint } from '@drkit/errors';
import { PassThrough, Readable, type Writable } from 'node:stream';
import type { Compression } from './codec.js';
import { EXTENSIONS } from './codec.js';
import {
  type FailedSource,
  type Finding,
  FORMAT_VERSION,
  type IndexEntry,
  KEYS,
  type RedisMeta,
  type SnapshotMeta,
  type SourceMeta,
} from './format.js';
import {
  dumpRdbVersion,
  encodeEnd,
  encodeMagic,
  encodeRecordHead,
  REDIS_EXTENSIONS,
  type RedisRecord,
} from './redis-records.js';
import type { RepoLock } from './lock.js';
import type { Repository } from './repository.js';
import { ChunkPacker } from './pack.js';
import { encodeSnapshot } from './signing.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from '@drkit/tar';
import { assertSourceName } from './validate.js';

/** One entry of a source as the backup reads it; `content` yields exactly `size` bytes. */
export interface SourceItem extends TarHeader {
  content?: () => AsyncIterable<Buffer>;
  ctime?: number;
  ino?: number;
  /** A folder's name count, for the next incremental (see IndexEntry). */
  names?: number;
  /** An unchanged file whose bytes stay in this earlier snapshot's archive; needs `sha256`. */
  heldBy?: string;
  sha256?: string;
}

/** What makes a snapshot incremental: the snapshot it was compared with, and its chain's full. */
export interface Lineage {
  parent: string;
  base: string;
}

export interface SourceInfo {
  name: string;
  type: string;
  origin?: string;
  /** A folder source's root: its mode and mtime, restored onto the folder the source lands in. */
  root?: { mode: number; mtime: number };
}

/** What only the reader of a Redis source knows; the writer adds counts, RDB version and the note. */
export type RedisSourceFacts = Pick<RedisMeta, 'server' | 'skippedVanished'> &
  Partial<Pick<RedisMeta, 'skippedErrors' | 'pattern'>>;

/** Index lines are written in batches of this many characters: a stream write per entry costs more than the line. */
const INDEX_BATCH = 64 * 1024;

export const NOT_POINT_IN_TIME =
  'Keys were read in batches while the server kept serving writes: each key is as it was when it was read, ' +
  'but the snapshot is not a point-in-time image across keys (a key written during the backup may be ' +
  'missing, or newer than its neighbours).';

export interface CommitOptions {
  errors?: Finding[];
  /** Sources that could not be read at all: the snapshot is partial and holds the others. */
  failedSources?: FailedSource[];
  /** Findings for each source, e.g. data validation, recorded in its metadata. */
  findings?: Record<string, { list: Finding[]; total: number }>;
}

/** Waits for 'drain'; rejects if the stream is destroyed instead (it would never drain). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      if (stream.destroyed) reject(stream.errored ?? new Error('the stream was closed before it drained'));
      else resolve();
    };
    if (stream.destroyed) return done();
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/**
 * Writes one snapshot: archives and indexes first, the metadata last (the commit point),
 * so an interrupted snapshot is never listed.
 */
export class SnapshotWriter {
  private readonly sources: SourceMeta[] = [];
  private readonly written: string[] = [];
  private isCommitted = false;

  constructor(
    private readonly repo: Repository,
    readonly id: string,
    readonly time: Date,
    readonly compression: Compression,
    private readonly options: {
      host: string;
      tags: string[];
      toolVersion: string;
      lineage?: Lineage;
      lock?: RepoLock;
      signal?: AbortSignal;
    },
  ) {}

  /**
   * Streams a source's entries into `<source>.tar.*` and its entry index; `onEntry` sees each index line as written.
   */
  async writeSource(
    info: SourceInfo,
    items: AsyncIterable<SourceItem>,
    onEntry?: (entry: IndexEntry) => void,
  ): Promise<SourceMeta> {
    assertSourceName(info.name);
    const archiveKey = KEYS.archive(this.id, info.name, EXTENSIONS[this.compression]);
    const indexKey = KEYS.index(this.id, info.name, this.compression);
    this.written.push(this.repo.blobKey(archiveKey), this.repo.blobKey(indexKey));
    const stats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
    const indexLines = new PassThrough();
    const holders = new Set<string>();
    let entries = 0;

    async function* tarBytes(): AsyncGenerator<Buffer> {
      const pack = new ChunkPacker();
      let lines = '';
      for await (const item of items) {
        const entry: IndexEntry = { path: item.path, type: item.type, mode: item.mode, mtime: item.mtime };
        if (item.ctime !== undefined) entry.ctime = item.ctime;
        if (item.ino !== undefined) entry.ino = item.ino;
        if (item.names !== undefined) entry.names = item.names;
        if (item.type === 'file' && item.heldBy) {
          // Unchanged since an earlier snapshot: index it, archive nothing.
          Object.assign(entry, { size: item.size, sha256: item.sha256, in: item.heldBy });
          holders.add(item.heldBy);
          stats.files++;
          stats.bytes += item.size;
        } else if (item.type === 'file') {
          for (const c of pack.add(encodeHeader(item))) yield c;
          const hash = createHash('sha256');
          let seen = 0;
          for await (const chunk of item.content?.() ?? []) {
            hash.update(chunk);
            seen += chunk.length;
            for (const c of pack.add(chunk)) yield c;
          }
          if (seen !== item.size)
            throw new Error(`internal: ${item.path} yielded ${seen} bytes, header said ${item.size}`);
          for (const c of pack.add(padding(item.size))) yield c;
          entry.size = item.size;
          entry.sha256 = hash.digest('hex');
          stats.files++;
          stats.bytes += item.size;
        } else if (item.type === 'dir') {
          for (const c of pack.add(encodeHeader(item))) yield c;
          stats.dirs++;
        } else {
          for (const c of pack.add(encodeHeader(item))) yield c;
          entry.linkTarget = item.linkTarget;
          stats.symlinks++;
        }
        entries++;
        onEntry?.(entry);
        lines += `${JSON.stringify(entry)}\n`;
        if (lines.length >= INDEX_BATCH) {
          if (!indexLines.write(lines)) await drained(indexLines);
          lines = '';
        }
      }
      indexLines.end(lines);
      for (const c of pack.add(END_OF_ARCHIVE)) yield c;
      for (const c of pack.flush()) yield c;
    }

    const archiveSource = Readable.from(tarBytes(), { objectMode: false });
    // Whichever put fails first stops the other, which would otherwise wait forever.
    archiveSource.on('error', (err) => indexLines.destroy(err));
    indexLines.on('error', (err) => archiveSource.destroy(err));
    const stop = this.stopOnAbort(archiveSource);
    const puts = [
      this.repo.putBlob(archiveKey, archiveSource, this.compression),
      this.repo.putBlob(indexKey, indexLines, this.compression),
    ] as const;
    // The first failure is the cause; the other put settles too, so nothing is written after it is reported.
    const [archive, index] = await Promise.all(puts)
      .catch(async (err) => {
        await Promise.allSettled(puts);
        await this.discard(archiveKey, indexKey);
        throw err;
      })
      .finally(stop);
    const meta: SourceMeta = {
      name: info.name,
      type: info.type,
      ...(info.origin ? { origin: info.origin } : {}),
      archive,
      index: { ...index, entries },
      stats,
      findings: [],
      findingsTotal: 0,
      holders: [...holders].sort(),
      ...(info.root ? { root: info.root } : {}),
    };
    this.sources.push(meta);
    return meta;
  }

  /**
   * Streams a Redis source's records into `<source>.redis.*` (docs/FORMAT.md). Each payload is
   * passed on as it is, never copied; `facts` is called once the records are exhausted.
   */
  async writeRedisSource(
    info: SourceInfo,
    records: AsyncIterable<RedisRecord>,
    facts: () => RedisSourceFacts,
  ): Promise<SourceMeta> {
    assertSourceName(info.name);
    const key = KEYS.archive(this.id, info.name, REDIS_EXTENSIONS[this.compression]);
    this.written.push(this.repo.blobKey(key));
    const perDb = new Map<number, number>();
    let count = 0;
    let bytes = 0;
    let rdbVersion: number | null = null;
    async function* archiveBytes(): AsyncGenerator<Buffer> {
      // Small records are packed into 64 KiB chunks (one compressor call each, not two per key);
      // a large payload goes on as it is.
      const pack = new ChunkPacker();
      for (const c of pack.add(encodeMagic())) yield c;
      for await (const r of records) {
        for (const c of pack.add(
          encodeRecordHead({
            db: r.db,
            key: r.key,
            type: r.type,
            expireAt: r.expireAt,
            payloadLength: r.payload.length,
          }),
        ))
          yield c;
        for (const c of pack.add(r.payload)) yield c;
        count++;
        bytes += r.key.length + r.payload.length;
        perDb.set(r.db, (perDb.get(r.db) ?? 0) + 1);
        const v = dumpRdbVersion(r.payload);
        if (v !== undefined && (rdbVersion === null || v > rdbVersion)) rdbVersion = v;
      }
      for (const c of pack.add(encodeEnd(count))) yield c;
      for (const c of pack.flush()) yield c;
    }
    const body = Readable.from(archiveBytes(), { objectMode: false });
    const stop = this.stopOnAbort(body);
    const archive = await this.repo
      .putBlob(key, body, this.compression)
      .catch(async (err) => {
        await this.discard(key);
        throw err;
      })
      .finally(stop);
    const f = facts();
    const meta: SourceMeta = {
      name: info.name,
      type: info.type,
      ...(info.origin ? { origin: info.origin } : {}),
      archive,
      stats: { files: 0, dirs: 0, symlinks: 0, bytes },
      findings: [],
      findingsTotal: 0,
      holders: [],
      redis: {
        server: f.server,
        rdbVersion,
        records: count,
        dbs: [...perDb].sort((a, b) => a[0] - b[0]).map(([db, keys]) => ({ db, keys })),
        skippedVanished: f.skippedVanished,
        skippedErrors: f.skippedErrors ?? 0,
        ...(f.pattern ? { pattern: f.pattern } : {}),
        pointInTime: false,
        note: NOT_POINT_IN_TIME,
      },
    };
    this.sources.push(meta);
    return meta;
  }

  /**
   * Stores the metadata; from this moment the snapshot exists. Refuses (REPO_LOCK_LOST) when
   * the lock it was written under is gone: a prune may have removed its data meanwhile.
   */
  async commit(options: CommitOptions = {}): Promise<SnapshotMeta> {
    const errors = options.errors ?? [];
    const failedSources = options.failedSources ?? [];
    const meta: SnapshotMeta = {
      format: FORMAT_VERSION,
      id: this.id,
      time: this.time.toISOString(),
      host: this.options.host,
      toolVersion: this.options.toolVersion,
      kind: this.options.lineage ? 'incremental' : 'full',
      ...this.options.lineage,
      status: errors.length > 0 || failedSources.length > 0 ? 'partial' : 'complete',
      tags: this.options.tags,
      sources: this.sources.map((s) => {
        const f = options.findings?.[s.name];
        return f ? { ...s, findings: f.list, findingsTotal: f.total } : s;
      }),
      errors,
      failedSources,
      ...(this.repo.encryption ? { encryption: this.repo.encryption } : {}),
    };
    await failpoint('commit.before-metadata');
    this.options.signal?.throwIfAborted();
    await this.options.lock?.assertHeld();
    await this.repo.store.put(KEYS.snapshot(this.id), encodeSnapshot(meta, this.repo.signingKey));
    this.isCommitted = true;
    await failpoint('commit.after-metadata');
    return meta;
  }

  /** True once the metadata is stored: the snapshot exists, and abort() leaves it alone. */
  get committed(): boolean {
    return this.isCommitted;
  }

  /**
   * Removes the blobs of a source whose writing failed, so the snapshot can be committed without
   * it: nothing of it may stay under the snapshot's data folder, which prune never looks into.
   */
  private async discard(...keys: string[]): Promise<void> {
    await Promise.all(keys.map((k) => this.repo.store.delete(this.repo.blobKey(k)).catch(() => {})));
  }

  /** Fails the blob being stored at once when the signal fires (its temp file goes with it); returns the unhook. */
  private stopOnAbort(body: Readable): () => void {
    const signal = this.options.signal;
    if (!signal) return () => {};
    signal.throwIfAborted();
    const stop = () => body.destroy(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    return () => signal.removeEventListener('abort', stop);
  }

  /**
   * Removes what this writer stored, unless the snapshot was committed (a failure after that must not take its data).
   */
  async abort(): Promise<void> {
    if (this.isCommitted) return;
    await Promise.all(this.written.map((k) => this.repo.store.delete(k).catch(() => {})));
  }
}
