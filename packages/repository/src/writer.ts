import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { Compression } from './codec.js';
import { EXTENSIONS } from './codec.js';
import { putCompressed } from './blob-io.js';
import { type Finding, FORMAT_VERSION, type IndexEntry, KEYS, type SnapshotMeta, type SourceMeta } from './format.js';
import type { Repository } from './repository.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from './tar.js';

/** One entry of a source as the backup reads it; `content` yields exactly `size` bytes. */
export interface SourceItem extends TarHeader {
  content?: () => AsyncIterable<Buffer>;
}

export interface SourceInfo {
  name: string;
  type: string;
  origin?: string;
}

export interface CommitOptions {
  errors?: Finding[];
  /** Findings for each source, e.g. data validation, recorded in its metadata. */
  findings?: Record<string, { list: Finding[]; total: number }>;
}

/**
 * Writes one snapshot: archives and indexes first, the metadata last (the commit point),
 * so an interrupted snapshot is never listed.
 */
export class SnapshotWriter {
  private readonly sources: SourceMeta[] = [];
  private readonly written: string[] = [];

  constructor(
    private readonly repo: Repository,
    readonly id: string,
    readonly time: Date,
    readonly compression: Compression,
    private readonly options: { host: string; tags: string[]; toolVersion: string },
  ) {}

  /** Streams a source's entries into `<source>.tar.*` and its entry index. */
  async writeSource(info: SourceInfo, items: AsyncIterable<SourceItem>): Promise<SourceMeta> {
    const archiveKey = KEYS.archive(this.id, info.name, EXTENSIONS[this.compression]);
    const indexKey = KEYS.index(this.id, info.name, this.compression);
    this.written.push(archiveKey, indexKey);
    const stats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
    const indexLines = new PassThrough();
    let entries = 0;

    async function* tarBytes(): AsyncGenerator<Buffer> {
      for await (const item of items) {
        yield encodeHeader(item);
        const entry: IndexEntry = { path: item.path, type: item.type, mode: item.mode, mtime: item.mtime };
        if (item.type === 'file') {
          const hash = createHash('sha256');
          let seen = 0;
          for await (const chunk of item.content?.() ?? []) {
            hash.update(chunk);
            seen += chunk.length;
            yield chunk;
          }
          if (seen !== item.size) throw new Error(`internal: ${item.path} yielded ${seen} bytes, header said ${item.size}`);
          yield padding(item.size);
          entry.size = item.size;
          entry.sha256 = hash.digest('hex');
          stats.files++;
          stats.bytes += item.size;
        } else if (item.type === 'dir') stats.dirs++;
        else {
          entry.linkTarget = item.linkTarget;
          stats.symlinks++;
        }
        entries++;
        if (!indexLines.write(`${JSON.stringify(entry)}\n`)) await new Promise((r) => indexLines.once('drain', r));
      }
      indexLines.end();
      yield END_OF_ARCHIVE;
    }

    const archiveSource = Readable.from(tarBytes(), { objectMode: false });
    archiveSource.on('error', (err) => indexLines.destroy(err));
    const [archive, index] = await Promise.all([
      putCompressed(this.repo.store, archiveKey, archiveSource, this.compression),
      putCompressed(this.repo.store, indexKey, indexLines, this.compression),
    ]);
    const meta: SourceMeta = {
      name: info.name,
      type: info.type,
      ...(info.origin ? { origin: info.origin } : {}),
      archive,
      index: { ...index, entries },
      stats,
      findings: [],
      findingsTotal: 0,
    };
    this.sources.push(meta);
    return meta;
  }

  /** Stores the metadata; from this moment the snapshot exists. */
  async commit(options: CommitOptions = {}): Promise<SnapshotMeta> {
    const errors = options.errors ?? [];
    const meta: SnapshotMeta = {
      format: FORMAT_VERSION,
      id: this.id,
      time: this.time.toISOString(),
      host: this.options.host,
      toolVersion: this.options.toolVersion,
      kind: 'full',
      status: errors.length > 0 ? 'partial' : 'complete',
      tags: this.options.tags,
      sources: this.sources.map((s) => {
        const f = options.findings?.[s.name];
        return f ? { ...s, findings: f.list, findingsTotal: f.total } : s;
      }),
      errors,
    };
    await this.repo.store.put(KEYS.snapshot(this.id), Buffer.from(`${JSON.stringify(meta, null, 2)}\n`));
    return meta;
  }

  /** Removes what this writer stored; the snapshot was never committed. */
  async abort(): Promise<void> {
    await Promise.all(this.written.map((k) => this.repo.store.delete(k).catch(() => {})));
  }
}
