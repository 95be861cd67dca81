import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { failpoint } from '@drkit/errors';
import { digestBlob } from './blob-io.js';
import { AGE_SUFFIX } from './encryption.js';
import { RepoError, RepoErrorCode } from './errors.js';
import { type BlobRef, KEYS, type SnapshotMeta, type SourceMeta } from './format.js';
import { HashingStream } from './hashing.js';
import type { RepoLock } from './lock.js';
import type { Repository } from './repository.js';
import { matchesFilter, type SnapshotFilter } from './select.js';
import { encodeSnapshot, SIGNATURE_FIELD } from './signing.js';

export interface CopyProgress {
  snapshot: string;
  /** Stored bytes read from the source repository so far, over all snapshots being copied. */
  bytes: number;
  totalBytes: number;
}

export interface CopyOptions {
  onProgress?: (p: CopyProgress) => void;
  /** Read every copied blob back from the destination and check its sha256 (default true). */
  verifyArrival?: boolean;
  /** Told once per snapshot, before its blobs are copied, or when it is skipped. */
  onSnapshot?: (id: string, status: 'copying' | 'skipped') => void;
  /** Told when the source cannot be locked (it is read-only), so it is read without a lock. */
  onWarning?: (message: string) => void;
  /** Only snapshots this filter selects (`all`), or among which `ref` is resolved. */
  filter?: SnapshotFilter;
  /** Stops the copy: the snapshot being copied is rolled back in the destination (REPO_INTERRUPTED). */
  signal?: AbortSignal;
}

export interface CopyResult {
  id: string;
  /**
   * `unreadable`: its metadata in the source is damaged (or gone,
   * for a snapshot an incremental needs); nothing of it was copied.
   */
  status: 'copied' | 'skipped' | 'unreadable';
  /** Why it is unreadable. */
  reason?: string;
  /** Stored bytes copied. */
  bytes: number;
  /** How the blobs travelled: as stored, encrypted on the way, or re-encrypted for other recipients. */
  mode?: 'as-stored' | 'encrypted' | 're-encrypted';
  /**
   * What became of the snapshot's signature: `kept` (blobs as stored, metadata unchanged),
   * `re-signed` (blobs changed; the destination's signing key signed the new metadata, after the
   * source's signature was checked against a pinned key), `dropped` (blobs changed, and no key
   * to re-sign with, or the source signature was not checked). Absent for unsigned snapshots.
   */
  signature?: 'kept' | 're-signed' | 'dropped';
}

type Mode = NonNullable<CopyResult['mode']>;

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * Copies snapshots (`all`, or one ref with the earlier snapshots its incrementals point into)
 * from one repository to another. Snapshots already in the destination are skipped. Every
 * blob's sha256 is checked as it is read and again, read back, at the destination; the
 * metadata of a snapshot is written only after all its blobs, so an interrupted copy leaves
 * no half-visible snapshot (only unlisted blobs, which prune removes).
 *
 * Encryption follows the destination: blobs travel as stored when both sides agree, are
 * encrypted on the way into an encrypted repository, and are re-encrypted (this needs the
 * source's identity) when the recipients differ. Decrypting into a plain repository is refused.
 */
export async function copySnapshots(
  from: Repository,
  to: Repository,
  ref: string,
  options: CopyOptions = {},
): Promise<CopyResult[]> {
  // Locked before listing, so no prune removes what is about to be copied.
  const fromLock = await from.lockForReading('copy', options.onWarning);
  let toLock: RepoLock | undefined;
  try {
    const damaged: CopyResult[] = [];
    const all = await from.listSnapshots({
      onDamaged: (d) => damaged.push({ id: d.id, status: 'unreadable', bytes: 0, reason: d.reason }),
    });
    const byId = new Map(all.map((s) => [s.id, s]));
    // A filtered `all` still brings the earlier snapshots its incrementals point into.
    const chosen = withHolders(
      byId,
      ref === 'all'
        ? all.filter((s) => matchesFilter(s, options.filter))
        : [await from.resolveSnapshot(ref, { filter: options.filter })],
    );
    toLock = await to.lock({ exclusive: false, purpose: 'copy' });
    const present = new Set((await to.listSnapshots()).map((s) => s.id));
    const missing = new Map(chosen.map((s) => [s.id, missingHolder(byId, s)]));
    const todo = chosen.filter((s) => !present.has(s.id) && !missing.get(s.id));
    const totalBytes = todo.reduce((n, s) => n + blobsOf(s).reduce((m, b) => m + b.size, 0), 0);
    const progress = { bytes: 0, totalBytes };
    const results: CopyResult[] = [];
    for (const snap of chosen) {
      const needs = missing.get(snap.id);
      if (needs) {
        // Copied, it would be an incremental whose unchanged files are nowhere in the destination.
        results.push({
          id: snap.id,
          status: 'unreadable',
          bytes: 0,
          reason: `it needs snapshot ${needs} for unchanged files, whose metadata is damaged or missing in the source`,
        });
        continue;
      }
      if (present.has(snap.id)) {
        options.onSnapshot?.(snap.id, 'skipped');
        results.push({ id: snap.id, status: 'skipped', bytes: 0 });
        continue;
      }
      options.onSnapshot?.(snap.id, 'copying');
      try {
        results.push(await copyOne(from, to, toLock, snap, progress, options));
      } catch (cause) {
        if (!options.signal?.aborted) throw cause;
        const copied = results.filter((r) => r.status === 'copied').map((r) => r.id);
        throw new RepoError(
          RepoErrorCode.INTERRUPTED,
          `The copy to ${to.store.location} was interrupted: ` +
            `${copied.length ? `${copied.join(', ')} copied; ` : ''}snapshot ${snap.id} was not, and what it ` +
            `had written there was removed.`,
          {
            cause,
            hint: 'Run the same copy again: it skips the snapshots already there.',
            details: { copied, interrupted: snap.id },
          },
        );
      }
    }
    // With one ref, a damaged snapshot matters only as a missing link, reported on the snapshot that needs it.
    return ref === 'all' ? [...results, ...damaged] : results;
  } finally {
    // The source's lock too when the destination could not be locked.
    await toLock?.release().catch(() => {});
    await fromLock?.release().catch(() => {});
  }
}

const holdersOf = (s: SnapshotMeta) => s.sources.flatMap((src) => src.holders).filter((h) => h !== s.id);

/** A snapshot with the earlier ones its incrementals point into (their unchanged files travel with it). */
function withHolders(byId: Map<string, SnapshotMeta>, targets: SnapshotMeta[]): SnapshotMeta[] {
  const want = new Set<string>();
  const add = (s: SnapshotMeta) => {
    if (want.has(s.id)) return;
    want.add(s.id);
    for (const h of holdersOf(s)) if (byId.has(h)) add(byId.get(h)!);
  };
  for (const t of targets) add(t);
  return [...byId.values()].filter((s) => want.has(s.id));
}

/** The first snapshot in `snap`'s chain whose metadata the source cannot read, if any. */
function missingHolder(
  byId: Map<string, SnapshotMeta>,
  snap: SnapshotMeta,
  seen = new Set<string>(),
): string | undefined {
  for (const h of holdersOf(snap)) {
    const holder = byId.get(h);
    if (!holder) return h;
    if (seen.has(h)) continue;
    seen.add(h);
    const deeper = missingHolder(byId, holder, seen);
    if (deeper) return deeper;
  }
  return undefined;
}

function blobsOf(s: SnapshotMeta): BlobRef[] {
  return s.sources.flatMap((src) => (src.index ? [src.archive, src.index] : [src.archive]));
}

function modeFor(from: Repository, to: Repository, snap: SnapshotMeta, blob: BlobRef): Mode {
  if (blob.encryption !== 'age') return to.encryption ? 'encrypted' : 'as-stored';
  if (!to.encryption) {
    const recipients = snap.encryption?.recipients ?? from.config.encryption?.recipients ?? ['age1…'];
    throw new RepoError(
      RepoErrorCode.COPY_WOULD_DECRYPT,
      `Snapshot ${snap.id} is encrypted, and ${to.store.location} is not: copying would store it decrypted.`,
      {
        hint:
          `Create the destination encrypted for the same recipients (drkit init --repo DEST ` +
          `--recipient ${recipients.join(' --recipient ')}). Nothing was copied for this snapshot.`,
      },
    );
  }
  const recipients = snap.encryption?.recipients ?? from.config.encryption?.recipients ?? [];
  return sameSet(recipients, to.encryption.recipients) ? 'as-stored' : 're-encrypted';
}

async function copyOne(
  from: Repository,
  to: Repository,
  toLock: RepoLock,
  snap: SnapshotMeta,
  progress: { bytes: number; totalBytes: number },
  options: CopyOptions,
): Promise<CopyResult> {
  const written: string[] = [];
  let bytes = 0;
  let mode: Mode = 'as-stored';
  const copyBlob = async (blob: BlobRef): Promise<BlobRef> => {
    options.signal?.throwIfAborted();
    const m = modeFor(from, to, snap, blob);
    if (m !== 'as-stored') mode = m;
    const key = m === 'encrypted' ? `${blob.key}${AGE_SUFFIX}` : blob.key;
    const transforms: Transform[] = [];
    if (m === 're-encrypted') transforms.push((await from.keys.unseal(blob, snap.encryption?.recipients))!());
    if (m !== 'as-stored') transforms.push(to.keys.seal()!.transform());
    const raw = await from.store.get(blob.key);
    const read = new HashingStream();
    const stored = m === 'as-stored' ? read : new HashingStream();
    const progressBase = progress.bytes;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        progress.bytes = progressBase + read.bytes;
        options.onProgress?.({ snapshot: snap.id, bytes: progress.bytes, totalBytes: progress.totalBytes });
        done(null, chunk);
      },
    });
    written.push(key);
    const streams: Array<Readable | Transform> = [
      raw,
      read,
      tap,
      ...transforms,
      ...(m === 'as-stored' ? [] : [stored]),
    ];
    const last = streams.at(-1) as Transform;
    const piping = pipeline(streams as [Readable, ...Transform[]]);
    const putting = to.store.put(key, last);
    piping.catch((err) => last.destroy(err));
    putting.catch((err) => raw.destroy(err));
    const stop = () => raw.destroy(options.signal!.reason);
    options.signal?.addEventListener('abort', stop, { once: true });
    await Promise.all([piping, putting]).finally(() => options.signal?.removeEventListener('abort', stop));
    progress.bytes = progressBase + blob.size;
    bytes += blob.size;
    if (read.bytes !== blob.size || read.digest() !== blob.sha256)
      throw new RepoError(
        RepoErrorCode.DIGEST_MISMATCH,
        `${blob.key} in ${from.store.location} is damaged: expected ${blob.size} bytes with ` +
          `sha256 ${blob.sha256.slice(0, 12)}…, read ${read.bytes} bytes with sha256 ${read.digest().slice(0, 12)}….`,
        {
          hint:
            `Snapshot ${snap.id} was not copied. Run \`drkit verify ${snap.id}\` on the source; copy the ` +
            `other snapshots by id.`,
          details: { key: blob.key },
        },
      );
    const out: BlobRef = {
      key,
      size: stored.bytes,
      sha256: stored.digest(),
      compression: blob.compression,
      ...(m !== 'as-stored' || blob.encryption ? { encryption: 'age' as const } : {}),
    };
    if (options.verifyArrival !== false) {
      const arrived = await digestBlob(to.store, key);
      if (arrived.size !== out.size || arrived.sha256 !== out.sha256)
        throw new RepoError(
          RepoErrorCode.COPY_MISMATCH,
          `${key} did not arrive intact in ${to.store.location}: wrote ${out.size} bytes with ` +
            `sha256 ${out.sha256.slice(0, 12)}…, read back ${arrived.size} bytes with ` +
            `sha256 ${arrived.sha256.slice(0, 12)}….`,
          {
            hint: `Snapshot ${snap.id} was not committed there. Check the destination storage and run the copy again.`,
            details: { key },
          },
        );
    }
    await failpoint('copy.after-blob');
    return out;
  };
  try {
    const sources: SourceMeta[] = [];
    for (const s of snap.sources) {
      const archive = await copyBlob(s.archive);
      const index = s.index ? { ...(await copyBlob(s.index)), entries: s.index.entries } : undefined;
      sources.push({ ...s, archive, ...(index ? { index } : {}) });
    }
    const stored = from.storedForm(snap);
    const signed = stored[SIGNATURE_FIELD] !== undefined;
    let bytesOut: Buffer;
    let signature: CopyResult['signature'] = signed ? 'kept' : undefined;
    if (mode === 'as-stored')
      bytesOut = encodeSnapshot(stored); // unchanged, so its signature still holds
    else {
      const { encryption: _old, ...rest } = snap;
      const meta: SnapshotMeta = { ...rest, sources, ...(to.encryption ? { encryption: to.encryption } : {}) };
      // New blob digests void the signature; re-signing vouches for
      // the content, so only what a pinned key proved is re-signed.
      const resign = to.signingKey && from.signedBy(snap) ? to.signingKey : undefined;
      signature = resign ? 're-signed' : signed ? 'dropped' : undefined;
      bytesOut = encodeSnapshot(meta, resign);
    }
    await failpoint('copy.before-metadata');
    options.signal?.throwIfAborted();
    // The commit point: only now does the snapshot exist in the destination (and only if no prune can have run there).
    await toLock.assertHeld();
    await to.store.put(KEYS.snapshot(snap.id), bytesOut);
    return { id: snap.id, status: 'copied', bytes, mode, ...(signature ? { signature } : {}) };
  } catch (err) {
    await Promise.all(written.map((k) => to.store.delete(k).catch(() => {})));
    throw err;
  }
}
