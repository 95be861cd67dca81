import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { errnoCode, failpoint, isDrkitError } from '@drkit/errors';
import { type BlobStore, StorageErrorCode } from '@drkit/storage';
import { readSmallBlob } from './blob-io.js';
import { lineBatches } from './lines.js';
import { getDecompressed, putCompressed } from './blob-io.js';
import { checkCompressionChoice, chooseCompression, type Compression, type CompressionChoice } from './codec.js';
import { AGE_SUFFIX, type EncryptionOptions, type KeyOptions, prepareEncryption, RepoKeys } from './encryption.js';
import { RepoError, RepoErrorCode } from './errors.js';
import {
  FORMAT_VERSION,
  type IndexEntry,
  asIndexEntry,
  KEYS,
  type RepoConfig,
  repoConfigSchema,
  type SnapshotMeta,
  snapshotMetaSchema,
  type SourceMeta,
  type BlobRef,
} from './format.js';
import { newSnapshotId, SNAPSHOT_ID, snapshotIdTime } from './ids.js';
import {
  decodeRedisRecords,
  messageKey,
  type RecordPosition,
  RedisFramingError,
  type RedisRecord,
} from './redis-records.js';
import { type Leftovers, removeLeftovers } from './leftovers.js';
import { DEFAULT_STALE_MS, describeDamagedLock, describeStaleLock, type LockOptions, RepoLock } from './lock.js';
import {
  checkSelected,
  describeFilter,
  latestSnapshot,
  matchesFilter,
  type SnapshotFilter,
  type SnapshotSelection,
} from './select.js';
import { readTar } from '@drkit/tar';
import { SnapshotWriter } from './writer.js';
import { snapshotIdOfKey, snapshotMetaProblem } from './snapshot-check.js';
import { assertTag } from './validate.js';
import { CHECKSUM_FIELD, checkMetadataChecksum, damagedNote, encodeMetadata } from './metadata-checksum.js';
import { encodeSnapshot, parseTrustKeys, SIGNATURE_FIELD, type SigningKey } from './signing.js';
import { SnapshotTrust, type TrustOptions } from './trust.js';

export interface InitOptions {
  compression?: CompressionChoice;
  now?: Date;
  /** Encrypt archives and indexes with age for these recipients and/or a passphrase. */
  encryption?: EncryptionOptions;
  /** Public keys (`ed25519:…`) new snapshots are to be signed with; backups without a signing key are then refused. */
  signingKeys?: string[];
}

/**
 * Keys for reading an encrypted repository (none are needed to back up into one); the signing
 * key new snapshots are signed with; the keys this host trusts snapshots to be signed with.
 */
export type OpenOptions = KeyOptions & { signingKey?: SigningKey; trust?: TrustOptions };

// Top-level fields of each metadata kind as this drkit writes them (see checkMetadataChecksum).
const CONFIG_FIELDS = new Set([...Object.keys(repoConfigSchema.shape), CHECKSUM_FIELD]);
const SNAPSHOT_FIELDS = new Set([...Object.keys(snapshotMetaSchema.shape), CHECKSUM_FIELD, SIGNATURE_FIELD]);

/** Each snapshot as it was read: its JSON as stored (copied and re-tagged as is) and the pinned key that signed it. */
const storedForms = new WeakMap<SnapshotMeta, { raw: Record<string, unknown>; signedBy?: string }>();

export interface BeginOptions {
  time: Date;
  tags?: string[];
  host?: string;
  toolVersion: string;
  /** Makes the snapshot an incremental on top of this one. */
  parent?: SnapshotMeta;
  /** The lock the snapshot is written under; commit refuses with REPO_LOCK_LOST once it is lost. */
  lock?: RepoLock;
  /** The snapshot's id (from newSnapshotId(time)), when the caller needs it before beginning, e.g. for its lock. */
  id?: string;
  /** Stops the writes: an archive being stored fails at once, and commit refuses. */
  signal?: AbortSignal;
}

/** An entry as stored in an archive, with its content stream (consume or ignore it). */
export interface ArchiveEntry {
  name: string;
  type: string;
  size: number;
  linkTarget: string | undefined;
  /** The entry's bytes (files only); read them, or not, before asking for the next entry. */
  stream: AsyncIterable<Buffer>;
}

/** One archive a source's entries live in; `source` is undefined when the holder's metadata is gone or `damaged`. */
export interface ChainLink {
  holder: string;
  source: SourceMeta | undefined;
  /** Why the holder's metadata cannot be read, when it is there but damaged. */
  damaged?: string;
}

/** A `snapshots/<id>.json` that cannot be read as snapshot metadata (damaged, or of a newer format). */
export interface DamagedSnapshot {
  id: string;
  key: string;
  code: RepoErrorCode;
  /** What is wrong with it (the error's message). */
  reason: string;
}

/** A drkit repository (format v1) on any BlobStore. */
export class Repository {
  /** Encryption state: sealing new blobs, opening stored ones. */
  readonly keys: RepoKeys;
  /** Signs the snapshots this handle writes (backups, re-encrypting copies). */
  readonly signingKey: SigningKey | undefined;
  /** The keys this host pins, if any: every snapshot read must be signed by one of them. */
  readonly trust: SnapshotTrust | undefined;

  private constructor(
    readonly store: BlobStore,
    readonly config: RepoConfig,
    options: OpenOptions = {},
  ) {
    this.keys = new RepoKeys(store, config.encryption, options);
    this.signingKey = options.signingKey;
    this.trust = SnapshotTrust.create(options.trust, store.location);
  }

  static async init(store: BlobStore, options: InitOptions = {}): Promise<Repository> {
    if (await store.stat(KEYS.config))
      throw new RepoError(RepoErrorCode.ALREADY_EXISTS, `A drkit repository already exists at ${store.location}.`, {
        hint: 'Use it as it is, or choose an empty location for a new repository.',
      });
    checkCompressionChoice(options.compression ?? 'auto');
    const config: RepoConfig = {
      format: FORMAT_VERSION,
      id: randomBytes(16).toString('hex'),
      created: (options.now ?? new Date()).toISOString(),
      compression: options.compression ?? 'auto',
    };
    if (options.signingKeys?.length)
      config.signing = { type: 'ed25519', keys: [...parseTrustKeys(options.signingKeys).keys()] };
    if (options.encryption) {
      const { block, blobs } = await prepareEncryption(options.encryption);
      for (const [key, bytes] of blobs) await store.put(key, bytes);
      config.encryption = block;
    }
    await store.put(KEYS.config, encodeMetadata(config));
    return new Repository(store, config, { passphrase: options.encryption?.passphrase });
  }

  static async open(store: BlobStore, options: OpenOptions = {}): Promise<Repository> {
    const raw = await readSmallBlob(store, KEYS.config).catch((err) => {
      if (err?.code === StorageErrorCode.NOT_FOUND)
        throw new RepoError(RepoErrorCode.NOT_FOUND, `No drkit repository at ${store.location}.`, {
          hint: 'Check --repo / DRKIT_REPO, or create one with `drkit init`.',
          cause: err,
        });
      throw err;
    });
    const json = parseJson(raw, KEYS.config, store.location);
    const format = (json as { format?: unknown })?.format;
    if (format !== FORMAT_VERSION)
      throw new RepoError(
        RepoErrorCode.UNSUPPORTED_FORMAT,
        `The repository at ${store.location} has format version ${JSON.stringify(format)}; this drkit reads ` +
          `version ${FORMAT_VERSION}.${damagedNote(json)}`,
        { hint: 'Use the drkit release that wrote it, or a newer one. Nothing was changed.' },
      );
    checkMetadataChecksum(json, CONFIG_FIELDS, KEYS.config, store.location);
    const parsed = repoConfigSchema.safeParse(json);
    if (!parsed.success) throw badMetadata(KEYS.config, store.location, issuesText(parsed.error));
    return new Repository(store, parsed.data, options);
  }

  /**
   * Refuses (REPO_SIGNING_KEY_REQUIRED) to write a snapshot without a signing key into a
   * repository whose config.json says snapshots are signed: hosts that pin the key would refuse it.
   */
  checkSigning(): void {
    const expected = this.config.signing?.keys ?? [];
    if (expected.length > 0 && !this.signingKey)
      throw new RepoError(
        RepoErrorCode.SIGNING_KEY_REQUIRED,
        `Snapshots in ${this.store.location} are signed (by ${expected.join(', ')}), and no signing key was given.`,
        {
          hint:
            'Pass --signing-key FILE (or set DRKIT_SIGNING_KEY_FILE, or signing_key in the config): hosts ' +
            'that pin the key refuse unsigned snapshots. Nothing was written.',
        },
      );
  }

  /**
   * The pinned key that signed `snapshot` when it was read (undefined
   * without pins or for snapshots not read from the store).
   */
  signedBy(snapshot: SnapshotMeta): string | undefined {
    return storedForms.get(snapshot)?.signedBy;
  }

  /**
   * `snapshot` as its file holds it: the JSON its checksum and
   * signature cover, fields this drkit does not know included.
   */
  storedForm(snapshot: SnapshotMeta): Record<string, unknown> {
    return storedForms.get(snapshot)?.raw ?? JSON.parse(JSON.stringify(snapshot));
  }

  /** The age recipients new snapshots are encrypted to, for their metadata; undefined when plain. */
  get encryption(): SnapshotMeta['encryption'] {
    return this.config.encryption ? { type: 'age', recipients: this.config.encryption.recipients } : undefined;
  }

  /**
   * Stores a new blob, compressed and, in an encrypted repository, age-encrypted under
   * `key` + `.age`. Writers store data only through here, so nothing skips encryption.
   */
  putBlob(key: string, source: Readable, compression: Compression): Promise<BlobRef> {
    return putCompressed(this.store, this.blobKey(key), source, compression, this.keys.seal());
  }

  /** The key a blob named `key` is stored under: with `.age` appended in an encrypted repository. */
  blobKey(key: string): string {
    return this.keys.encrypted ? `${key}${AGE_SUFFIX}` : key;
  }

  /** Opens a stored blob decrypted and decompressed; `check()` after the end confirms its digest. */
  async openBlob(ref: BlobRef, recipients?: readonly string[]): ReturnType<typeof getDecompressed> {
    return getDecompressed(this.store, ref, await this.keys.unseal(ref, recipients));
  }

  /**
   * Every snapshot, oldest first. Metadata that cannot be read as such (damaged, or of a newer
   * format) is skipped and told to `onDamaged`, so one bad file hides none of the others. A
   * storage failure is not damage and still throws: acting on a list it shortened would not be safe.
   */
  async listSnapshots(options: { onDamaged?: (d: DamagedSnapshot) => void } = {}): Promise<SnapshotMeta[]> {
    const keys: string[] = [];
    for await (const b of this.store.list(KEYS.snapshots)) if (b.key.endsWith('.json')) keys.push(b.key);
    const metas: SnapshotMeta[] = [];
    const damaged: DamagedSnapshot[] = [];
    await Promise.all(
      keys.map(async (key) => {
        try {
          metas.push(await this.readSnapshotKey(key));
        } catch (err) {
          if ((err as { code?: string }).code === StorageErrorCode.NOT_FOUND) return; // forgotten since it was listed
          if (!(err instanceof RepoError)) throw err;
          damaged.push({
            id: key.slice(KEYS.snapshots.length, -'.json'.length),
            key,
            code: err.code,
            reason: err.message,
          });
        }
      }),
    );
    metas.sort((a, b) => byCodeUnits(a.time, b.time) || byCodeUnits(a.id, b.id));
    await this.trust?.reviewListing(metas, damaged);
    for (const d of damaged.sort((a, b) => byCodeUnits(a.id, b.id))) options.onDamaged?.(d);
    return metas;
  }

  /**
   * A full id, a unique prefix of one, `latest`, or `latest:TAG` (the newest with that tag), among
   * the snapshots `selection` chooses (select.ts). `latest` is the newest snapshot whose metadata
   * can be read.
   */
  async resolveSnapshot(ref: string, selection: SnapshotSelection = {}): Promise<SnapshotMeta> {
    // A full id names one file: read just that one, so damage elsewhere cannot get in the way.
    if (SNAPSHOT_ID.test(ref)) {
      const meta = await this.findSnapshot(ref);
      if (!meta) throw this.noMatch(ref);
      return checkSelected(meta, selection.filter);
    }
    const refused: DamagedSnapshot[] = [];
    const all = await this.listSnapshots({ onDamaged: (d) => refused.push(d) });
    const damaged = refused.map((d) => d.id);
    if (ref === 'latest' || ref.startsWith('latest:')) {
      const tag = ref.slice('latest:'.length);
      const skipped = damaged.length
        ? ` (${damaged.length} snapshot(s) with damaged metadata were skipped: ${damaged.join(', ')})`
        : '';
      let last: SnapshotMeta;
      try {
        last = latestSnapshot(all, tag, selection, this.store.location, skipped);
      } catch (err) {
        this.trust?.refuseFallback(ref, undefined, refused); // a refused snapshot explains "none found" better
        throw err;
      }
      this.trust?.refuseFallback(ref, last, refused);
      if (tag) this.trust?.noteUntagged(tag, last, all);
      return last;
    }
    // Damaged ones count as matches: a prefix that is ambiguous stays so, and one naming a damaged snapshot says why.
    const selected = all.filter((s) => matchesFilter(s, selection.filter));
    const matches = [...selected.map((s) => s.id), ...damaged].filter((id) => id.startsWith(ref));
    if (matches.length === 0) throw this.noMatch(ref, selection.filter);
    if (matches.length > 1)
      throw new RepoError(
        RepoErrorCode.SNAPSHOT_AMBIGUOUS,
        `"${ref}" matches ${matches.length} snapshots: ${matches.join(', ')}.`,
        {
          hint: 'Give more characters of the id.',
        },
      );
    return all.find((s) => s.id === matches[0]) ?? this.readSnapshotKey(KEYS.snapshot(matches[0]!));
  }

  source(snapshot: SnapshotMeta, name: string): SourceMeta {
    const s = snapshot.sources.find((x) => x.name === name);
    if (!s)
      throw new RepoError(RepoErrorCode.SOURCE_NOT_FOUND, `Snapshot ${snapshot.id} has no source "${name}".`, {
        hint: `Its sources are: ${snapshot.sources.map((x) => x.name).join(', ') || 'none'}.`,
      });
    return s;
  }

  /** Streams a source's entry index; throws at the end if the index blob is damaged. */
  async *readIndex(source: SourceMeta): AsyncGenerator<IndexEntry> {
    if (!source.index)
      throw new RepoError(
        RepoErrorCode.SOURCE_NOT_FOUND,
        `Source "${source.name}" is a ${source.type} source: it has no file index.`,
        {
          hint: source.redis
            ? 'Read it with readRedisRecords, or restore it with `drkit restore ID --source NAME --redis URL`.'
            : 'The snapshot metadata may be damaged.',
          details: { source: source.name },
        },
      );
    const { key } = source.index;
    const { stream, check } = await this.openBlob(source.index);
    let n = 0;
    try {
      for await (const lines of lineBatches(stream)) {
        for (const line of lines) {
          n++;
          if (!line || line === '\r') continue;
          const entry = asIndexEntry(safeJson(line));
          if (!entry) throw badMetadata(`${key} line ${n}`, this.store.location, 'not a valid index entry');
          yield entry;
        }
      }
    } catch (cause) {
      if (isDrkitError(cause)) throw cause;
      // The stream's own failure (e.g. zlib's "incorrect data check") is damage in the stored
      // index; a drkit error (a storage read that failed) is not.
      throw new RepoError(
        RepoErrorCode.CORRUPT_ARCHIVE,
        `The entry index of source "${source.name}" of snapshot ${key.split('/')[1]} (${key}) cannot be ` +
          `read after line ${n}: ${(cause as Error)?.message ?? cause}.`,
        {
          cause,
          hint:
            'The index is damaged: restore another snapshot or from another copy of the repository; `drkit ' +
            'verify all` shows what else is affected.',
          details: { key, source: source.name },
        },
      );
    } finally {
      stream.destroy();
    }
    check();
  }

  /**
   * Streams the entries of a source's archive; consume (or ignore) each entry's stream before
   * asking for the next. Damage surfaces as CORRUPT_ARCHIVE naming the entry being read, and a
   * wrong archive digest as DIGEST_MISMATCH once the archive has been read to the end.
   */
  async *readArchive(source: SourceMeta): AsyncGenerator<ArchiveEntry> {
    const { stream, check } = await this.openBlob(source.archive);
    let current = '(start of archive)';
    // A storage read that failed (a drkit error) is not damage in the archive.
    const corrupt = (cause: unknown) =>
      isDrkitError(cause)
        ? cause
        : new RepoError(
            RepoErrorCode.CORRUPT_ARCHIVE,
            `The archive of source "${source.name}" (${source.archive.key}) cannot be read at entry ` +
              `"${current}": ${(cause as Error).message}.`,
            {
              cause,
              hint: 'The archive is damaged: restore from another snapshot or another copy.',
              details: { source: source.name, entry: current },
            },
          );
    try {
      for await (const e of readTar(stream, corrupt)) {
        current = e.name;
        yield { name: e.name, type: e.type, size: e.size, linkTarget: e.linkTarget, stream: e.content };
      }
    } catch (cause) {
      throw corrupt(cause);
    } finally {
      // A consumer that stops early must not leave the blob open.
      stream.destroy();
    }
    check();
  }

  /**
   * Streams the records of a Redis source (docs/FORMAT.md), one payload in memory at a time.
   * Damage surfaces as CORRUPT_ARCHIVE naming the record and key, a wrong digest as
   * DIGEST_MISMATCH after the last record.
   */
  async *readRedisRecords(source: SourceMeta): AsyncGenerator<RedisRecord> {
    if (!source.redis)
      throw new RepoError(
        RepoErrorCode.SOURCE_NOT_FOUND,
        `Source "${source.name}" is a ${source.type} source, not a Redis source.`,
        {
          hint: 'Read it with readArchive / readIndex.',
          details: { source: source.name },
        },
      );
    const { stream, check } = await this.openBlob(source.archive);
    let records = 0;
    let lastKey: Buffer | undefined;
    try {
      for await (const r of decodeRedisRecords(stream as AsyncIterable<Buffer>)) {
        records++;
        lastKey = r.key;
        yield r;
      }
    } catch (cause) {
      if (isDrkitError(cause)) throw cause; // a storage read that failed is not damage
      const last: RecordPosition = { record: records, ...(lastKey ? { key: messageKey(lastKey) } : {}) };
      const at: RecordPosition = cause instanceof RedisFramingError ? cause.position : { record: records + 1 };
      const why =
        cause instanceof RedisFramingError
          ? cause.message
          : `its compressed stream is damaged (${(cause as Error).message})`;
      const after = at.key ? ` at key ${at.key}` : last.key ? ` after key ${last.key}` : '';
      throw new RepoError(
        RepoErrorCode.CORRUPT_ARCHIVE,
        `The archive of Redis source "${source.name}" (${source.archive.key}) cannot be read at ` +
          `record ${at.record}${after}: ${why}.`,
        {
          cause,
          hint: 'The archive is damaged: restore from another snapshot or another copy.',
          details: { source: source.name, record: at.record, key: at.key ?? last.key },
        },
      );
    } finally {
      stream.destroy();
    }
    check();
  }

  async beginSnapshot(options: BeginOptions): Promise<SnapshotWriter> {
    this.checkSigning();
    const { compression } = chooseCompression(this.config.compression);
    const p = options.parent;
    for (const tag of options.tags ?? []) assertTag(tag);
    return new SnapshotWriter(this, options.id ?? newSnapshotId(options.time), options.time, compression, {
      host: options.host ?? hostname(),
      tags: options.tags ?? [],
      toolVersion: options.toolVersion,
      ...(p ? { lineage: { parent: p.id, base: p.base ?? p.id } } : {}),
      lock: options.lock,
      signal: options.signal,
    });
  }

  /**
   * The archives a source's entries live in: its own first, then each earlier snapshot that
   * holds unchanged files of an incremental. A holder whose metadata is gone is returned with
   * `source` undefined, so callers can name the broken link.
   */
  async archiveChain(snapshot: SnapshotMeta, source: SourceMeta): Promise<ChainLink[]> {
    const chain: ChainLink[] = [{ holder: snapshot.id, source }];
    for (const holder of source.holders) {
      try {
        const meta = await this.findSnapshot(holder);
        chain.push({ holder, source: meta?.sources.find((s) => s.name === source.name) });
      } catch (err) {
        if (!(err instanceof RepoError)) throw err;
        chain.push({ holder, source: undefined, damaged: err.message });
      }
    }
    return chain;
  }

  /** Exactly this id, or undefined when its metadata is gone (e.g. a forgotten chain link). */
  async findSnapshot(id: string): Promise<SnapshotMeta | undefined> {
    if (!SNAPSHOT_ID.test(id) || !(await this.store.stat(KEYS.snapshot(id)))) return undefined;
    return this.readSnapshotKey(KEYS.snapshot(id));
  }

  /**
   * Rewrites a snapshot's tags; the metadata blob is replaced atomically. Under a shared lock,
   * like a backup: forget and prune (exclusive) cannot delete the snapshot between our read and
   * our write, which would bring its metadata back with its data gone. Exclusive would also
   * keep two taggers apart, but make every tag wait for running backups.
   */
  async setTags(id: string, tags: string[], options: { signal?: AbortSignal } = {}): Promise<SnapshotMeta> {
    for (const tag of tags) assertTag(tag);
    const lock = await this.lock({ exclusive: false, purpose: 'tag', signal: options.signal });
    try {
      const meta = await this.resolveSnapshot(id);
      const updated = { ...meta, tags: [...new Set(tags)].sort() };
      await failpoint('tag.before-write');
      options.signal?.throwIfAborted();
      await lock.assertHeld();
      // Tags are outside the signature: the stored form keeps it, and gets a new checksum.
      await this.store.put(KEYS.snapshot(meta.id), encodeSnapshot({ ...this.storedForm(meta), tags: updated.tags }));
      return updated;
    } catch (cause) {
      if (!options.signal?.aborted) throw cause;
      throw new RepoError(
        RepoErrorCode.INTERRUPTED,
        `Tagging ${id} was interrupted before it wrote anything: its tags are as they were.`,
        {
          cause,
          hint: 'Run the tag command again.',
        },
      );
    } finally {
      await lock.release().catch(() => {});
    }
  }

  /** Removes a snapshot's metadata only: it stops existing, its data waits for prune. */
  async forgetSnapshot(id: string): Promise<void> {
    await this.store.delete(KEYS.snapshot(id));
  }

  /**
   * Deletes every blob under data/ whose snapshot has no metadata (forgotten, or left by a
   * killed backup); damaged metadata still counts. Metadata always goes first, so a prune
   * killed mid-way only leaves unreferenced data that the next prune removes. Call under an
   * exclusive lock.
   *
   * Data of ids made within the stale-lock window is kept even so (`tooRecent`): a backup whose
   * lock was removed (`drkit unlock --all`) may still be writing it; a later prune takes it. Then the
   * leftovers of interrupted writes go (removeLeftovers: temp files, empty data folders).
   * `signal` stops it between two deletes.
   */
  async pruneData(
    options: {
      dryRun?: boolean;
      assumeForgotten?: string[];
      now?: Date;
      staleAfterMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<{ snapshots: string[]; blobs: number; bytes: number; tooRecent: string[]; leftovers?: Leftovers }> {
    const forgotten = new Set(options.assumeForgotten);
    // Metadata that cannot be read may still describe a snapshot: its data stays until the file is repaired or removed.
    const damaged: string[] = [];
    const listed = await this.listSnapshots({ onDamaged: (d) => damaged.push(d.id) });
    const live = new Set([...listed.map((s) => s.id).filter((id) => !forgotten.has(id)), ...damaged]);
    const now = options.now ?? new Date();
    const settled = now.getTime() - (options.staleAfterMs ?? DEFAULT_STALE_MS);
    const mayBeRunning = (id: string) => (snapshotIdTime(id)?.getTime() ?? Number.NEGATIVE_INFINITY) > settled;
    const gone = new Set<string>();
    const tooRecent = new Set<string>();
    let blobs = 0;
    let bytes = 0;
    for await (const b of this.store.list('data/')) {
      const id = b.key.split('/')[1]!;
      if (live.has(id)) continue;
      if (mayBeRunning(id)) {
        tooRecent.add(id);
        continue;
      }
      gone.add(id);
      blobs++;
      bytes += b.size;
      if (options.dryRun) continue;
      options.signal?.throwIfAborted();
      await this.store.delete(b.key);
      await failpoint('prune.after-delete-blob');
    }
    const result = { snapshots: [...gone].sort(), blobs, bytes, tooRecent: [...tooRecent].sort() };
    if (options.dryRun) return result;
    options.signal?.throwIfAborted();
    return { ...result, leftovers: await removeLeftovers(this.store, { now, staleAfterMs: options.staleAfterMs }) };
  }

  lock(options: LockOptions): Promise<RepoLock> {
    return RepoLock.acquire(this.store, options);
  }

  /**
   * A shared lock for a reader (verify, restore, copy's source), so that no prune deletes data under it. A
   * repository this user may only read (a read-only mount or bucket policy, e.g. an offsite
   * copy) cannot hold one; reading it anyway, with a warning, is what an operator expects: a
   * concurrent prune could then only show up as missing blobs, never change what is read.
   */
  async lockForReading(purpose: string, onWarning?: (message: string) => void): Promise<RepoLock | undefined> {
    try {
      // What it cleans up on the way is said, as a writer says it.
      return await this.lock({
        exclusive: false,
        purpose,
        onStale: onWarning && ((lock, why) => onWarning(describeStaleLock(lock, why))),
        onDamaged: onWarning && ((key, why) => onWarning(describeDamagedLock(key, why))),
      });
    } catch (err) {
      const denied =
        errnoCode(err) === StorageErrorCode.ACCESS_DENIED ||
        ['EACCES', 'EPERM', 'EROFS'].includes(errnoCode((err as Error).cause) ?? '');
      if (!denied) throw err;
      onWarning?.(
        `the repository cannot be locked, so ${purpose} runs without a lock (a prune running now would show ` +
          `up as missing data): ${(err as Error).message}`,
      );
      return undefined;
    }
  }

  /** Runs `read` under lockForReading's lock, released however `read` ends. */
  async withReadLock<T>(
    purpose: string,
    onWarning: ((message: string) => void) | undefined,
    read: () => Promise<T>,
  ): Promise<T> {
    const lock = await this.lockForReading(purpose, onWarning);
    try {
      return await read();
    } finally {
      await lock?.release().catch(() => {});
    }
  }

  private noMatch(ref: string, filter?: SnapshotFilter): RepoError {
    const among = describeFilter(filter);
    return new RepoError(
      RepoErrorCode.SNAPSHOT_NOT_FOUND,
      `No snapshot${among ? ` of ${among}` : ''} matches "${ref}" in ${this.store.location}.`,
      {
        hint: 'List them with `drkit snapshots`; use a full id, a unique prefix, or latest.',
      },
    );
  }

  private async readSnapshotKey(key: string): Promise<SnapshotMeta> {
    const id = snapshotIdOfKey(key);
    if (!id) throw badMetadata(key, this.store.location, 'its file name is not a snapshot id');
    const json = parseJson(await readSmallBlob(this.store, key), key, this.store.location);
    const format = (json as { format?: unknown })?.format;
    if (format !== FORMAT_VERSION)
      throw new RepoError(
        RepoErrorCode.UNSUPPORTED_FORMAT,
        `${key} has format version ${JSON.stringify(format)}; this drkit reads ${FORMAT_VERSION}.${damagedNote(json)}`,
        {
          hint: 'Use a newer drkit to read this repository.',
        },
      );
    // Bytes first (checksum, then signature), grammar after: a damaged file is named as damaged, not as malformed.
    checkMetadataChecksum(json, SNAPSHOT_FIELDS, key, this.store.location);
    const signedBy = this.trust?.check(json as Record<string, unknown>, key);
    const parsed = snapshotMetaSchema.safeParse(json);
    if (!parsed.success) throw badMetadata(key, this.store.location, issuesText(parsed.error));
    const problem = snapshotMetaProblem(parsed.data, id);
    if (problem) throw badMetadata(key, this.store.location, problem);
    storedForms.set(parsed.data, { raw: json as Record<string, unknown>, ...(signedBy ? { signedBy } : {}) });
    return parsed.data;
  }
}

/**
 * Ids and ISO times sort by their characters: localeCompare would load ICU's collation data
 * (~3 MiB of RSS on every command that lists snapshots) to order ASCII, and order it by locale.
 */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseJson(raw: Buffer, key: string, location: string): unknown {
  const v = safeJson(raw.toString('utf8'));
  if (v === undefined) throw badMetadata(key, location, 'not valid JSON');
  return v;
}

/** zod's issues as one readable line (`sources.0.name: …; tags.1: …`), never its JSON dump. */
function issuesText(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

function badMetadata(key: string, location: string, why: string): RepoError {
  return new RepoError(RepoErrorCode.BAD_METADATA, `${key} in ${location} is damaged: ${why}.`, {
    hint: 'Run `drkit verify all` to see what else is affected; restore from another copy of the repository.',
    details: { key },
  });
}
