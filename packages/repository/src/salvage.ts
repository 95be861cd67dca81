// Reading past damage (`drkit restore --salvage`, verify's damage report): an archive's entries
// outside its damaged frames, and an index's lines outside its damaged frames. Never used by a
// normal read, which stops at the first damage (readArchive, readIndex).

import { createHash } from 'node:crypto';
import { RepoError, RepoErrorCode } from './errors.js';
import { asIndexEntry, type BlobRef, type IndexEntry, type SourceMeta } from './format.js';
import { lineBatches } from './lines.js';
import { normaliseEntryPath } from './paths.js';
import type { ArchiveEntry, Repository } from './repository.js';
import { openChunks } from '@drkit/age';
import { ageFailure } from './encryption.js';
import { type Piece, salvageDecode, type Span } from './salvage-decode.js';
import { salvageTar } from '@drkit/tar';

export type { Span } from './salvage-decode.js';

/** An archive entry read past damage, with the stored bytes (frames) it came from. */
export interface SalvagedEntry extends ArchiveEntry {
  /** Complete once the entry's content has been read. */
  stored: Span;
}

/** What reading a damaged blob found; complete once its entries (or lines) have all been read. */
export class BlobDamage {
  /** Stretches of the stored blob that could not be used, merged, in order. */
  readonly spans: Span[] = [];
  /** Whether the stored blob matched its recorded size and sha256. */
  intact = true;

  constructor(readonly key: string) {}

  /** Records the frames of an entry that failed its checks, unless damage already found there explains it. */
  explain(span: Span): void {
    if (!this.spans.some((s) => s.start <= span.end && span.start <= s.end)) this.add(span);
  }

  /**
   * Records a damaged stretch: a gap, a bad header's frame, or the frames of an entry that does not match the index.
   */
  add(span: Span): void {
    const spans = this.spans;
    let i = spans.findIndex((s) => s.end >= span.start);
    if (i < 0) i = spans.length;
    let { start, end } = span;
    let n = 0;
    while (i + n < spans.length && spans[i + n]!.start <= end) {
      start = Math.min(start, spans[i + n]!.start);
      end = Math.max(end, spans[i + n]!.end);
      n++;
    }
    spans.splice(i, n, { start, end });
  }
}

/**
 * Entries of a source's archive outside its damaged frames. Where damage breaks the stream,
 * reading resumes at the next header that `trusted` accepts (the caller checks it against the
 * index: the name it expects, its type and size). An entry's stream throws when its content
 * runs into damage; content that reads but does not match the index is the caller's to find.
 */
export function salvageArchive(
  repo: Repository,
  source: SourceMeta,
  trusted: (entry: ArchiveEntry) => boolean,
): { entries: AsyncGenerator<SalvagedEntry>; damage: BlobDamage } {
  const ref = source.archive;
  const damage = new BlobDamage(ref.key);
  async function* entries(): AsyncGenerator<SalvagedEntry> {
    const pieces = await salvagePieces(repo, ref, damage);
    const asEntry = (e: {
      name: string;
      type: string;
      size: number;
      linkTarget: string | undefined;
      content: AsyncIterable<Buffer>;
    }) => ({
      name: e.name,
      type: e.type,
      size: e.size,
      linkTarget: e.linkTarget,
      stream: e.content,
    });
    for await (const e of salvageTar(
      pieces,
      (t) => trusted(asEntry(t)),
      (span) => damage.add(span),
    ))
      yield { ...asEntry(e), stored: e.stored };
  }
  return { entries: entries(), damage };
}

/**
 * Whether a header found after damage names an entry the index expects from this archive
 * (`holder`: the snapshot id an incremental's index points at, undefined for the source's own
 * archive) with the same type and size, and that was not `taken` from an archive yet.
 */
export function expectedHeader(
  index: Map<string, IndexEntry>,
  holder: string | undefined,
  taken: (path: string) => boolean,
): (entry: ArchiveEntry) => boolean {
  return (e) => {
    const norm = normaliseEntryPath(e.name);
    const indexed = 'path' in norm ? index.get(norm.path) : undefined;
    if (!indexed || indexed.type !== e.type || (e.type === 'file' && indexed.size !== e.size)) return false;
    return indexed.in === holder && !taken(indexed.path);
  };
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Folders, symlinks and empty files: their index entry holds all there is to them, so salvage makes them from it when
 * their header is lost.
 */
export function indexAlone(e: IndexEntry): boolean {
  return e.type === 'dir' || e.type === 'symlink' || (e.size === 0 && e.sha256 === EMPTY_SHA256);
}

/** A source's index lines outside its damaged frames; a line cut by damage, or damaged itself, is left out. */
export function salvageIndex(
  repo: Repository,
  source: SourceMeta,
): { entries: AsyncGenerator<IndexEntry>; damage: BlobDamage } {
  const ref = source.index;
  if (!ref)
    throw new RepoError(RepoErrorCode.SOURCE_NOT_FOUND, `Source "${source.name}" has no file index.`, {
      details: { source: source.name },
    });
  const damage = new BlobDamage(ref.key);
  async function* entries(): AsyncGenerator<IndexEntry> {
    const pieces = await salvagePieces(repo, ref!, damage);
    for await (const run of runs(pieces, damage))
      for await (const lines of lineBatches(run))
        for (const line of lines) {
          const entry = asIndexEntry(parsed(line));
          if (entry) yield entry;
        }
  }
  return { entries: entries(), damage };
}

/** Splits pieces into runs of data between gaps, so that no line is joined across damage. */
async function* runs(pieces: AsyncIterable<Piece>, damage: BlobDamage): AsyncGenerator<AsyncIterable<Buffer>> {
  const it = pieces[Symbol.asyncIterator]();
  let done = false;
  while (!done) {
    yield (async function* () {
      for (;;) {
        const next = await it.next();
        if (next.done) {
          done = true;
          return;
        }
        if ('gap' in next.value) return damage.add(next.value.gap);
        yield next.value.data;
      }
    })();
  }
}

function parsed(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The blob's decoded pieces; the stored bytes are hashed on the way, `damage.intact` says how that ended. */
async function salvagePieces(repo: Repository, ref: BlobRef, damage: BlobDamage): Promise<AsyncIterable<Piece>> {
  const raw = (await repo.store.get(ref.key)) as AsyncIterable<Buffer>;
  async function* hashed(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of raw) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
    damage.intact = size === ref.size && hash.digest('hex') === ref.sha256;
  }
  if (ref.encryption !== 'age') return salvageDecode(hashed(), ref.compression);
  const opened = openChunks(
    hashed(),
    await repo.keys.identitiesFor(ref),
    (e) => ageFailure(e, ref.key, repo.keys.recipientTexts) as Error,
  );
  return salvageDecode(opened.chunks, ref.compression, opened.stored);
}
