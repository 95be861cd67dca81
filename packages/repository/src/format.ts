import * as z from 'zod';
import {
  AGE_RECIPIENT,
  isCount,
  isMode,
  isRedisDb,
  isIsoTime,
  isSnapshotId,
  isTimeMs,
  REPO_ID,
  SHA256,
  SNAPSHOT_ID,
  sourceNameProblem,
  tagProblem,
} from './validate.js';

export const FORMAT_VERSION = 1;

export const repoConfigSchema = z.object({
  format: z.number().int(),
  id: z.string().regex(REPO_ID, 'not a repository id (32 hex digits)'),
  created: z.string(),
  compression: z.enum(['auto', 'zstd', 'gzip']).default('auto'),
  /** Set when archives and indexes are encrypted with age (docs/FORMAT.md, "Encryption"). */
  encryption: z
    .object({
      type: z.literal('age'),
      /** Public keys every new blob is encrypted to; backups need nothing else. */
      recipients: z.array(z.string().regex(AGE_RECIPIENT, 'not an age1… or age1pq1… recipient')).min(1),
      /** Key of an age identity encrypted with the repository passphrase (scrypt), if there is one. */
      passphraseKey: z
        .string()
        .refine((k) => k === KEYS.passphraseKey, 'not keys/passphrase.age')
        .optional(),
    })
    .optional(),
  /**
   * The public keys snapshots are meant to be signed with: backups refuse to write unsigned ones.
   * Readers never trust it (the repository is writable by whoever attacks it): they pin keys of their own.
   */
  signing: z.object({ type: z.literal('ed25519'), keys: z.array(z.string()).min(1) }).optional(),
});
export type RepoConfig = z.infer<typeof repoConfigSchema>;

export const entryTypes = ['file', 'dir', 'symlink'] as const;

/** One line of a source's entry index (JSONL): everything needed to restore and check the entry. */
export interface IndexEntry {
  path: string;
  type: (typeof entryTypes)[number];
  mode: number;
  mtime: number;
  size?: number;
  sha256?: string;
  linkTarget?: string;
  /** Change detection for the next incremental: unchanged size, mtime, ctime and inode mean unchanged content. */
  ctime?: number;
  ino?: number;
  /**
   * A folder's name count when it was listed while settled: with
   * unchanged times, the next incremental reuses the indexed names.
   */
  names?: number;
  /** Set when the bytes live in an earlier snapshot's archive (an unchanged file in an incremental). */
  in?: string;
}

const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);
const isString = (v: unknown) => typeof v === 'string';
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isSha256 = (v: unknown) => typeof v === 'string' && SHA256.test(v);

/**
 * A parsed index line if it has the shape of an IndexEntry and its numbers and ids are in range
 * (validate.ts), else undefined. Checked by hand, not by a schema library: an index has one line
 * per entry, and copying each into a new object cost an unchanged incremental more than reading
 * the tree's folders did. Paths and link targets are checked where they are used, with the shared
 * predicates: a restore refuses them by name, and verify reports them per entry.
 */
export function asIndexEntry(v: unknown): IndexEntry | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  const type = e.type;
  const ok =
    isString(e.path) &&
    (type === 'file'
      ? isCount(e.size) && isSha256(e.sha256)
      : type === 'dir' || (type === 'symlink' && isString(e.linkTarget))) &&
    isMode(e.mode) &&
    isTimeMs(e.mtime) &&
    optional(e.size, isCount) &&
    optional(e.sha256, isSha256) &&
    optional(e.linkTarget, isString) &&
    optional(e.ctime, isTimeMs) &&
    optional(e.ino, isNumber) &&
    optional(e.names, isCount) &&
    optional(e.in, isSnapshotId);
  return ok ? (e as unknown as IndexEntry) : undefined;
}

/** A string checked by one of validate.ts's predicates, its problem in the message. */
const grammar = (problem: (v: string) => string | undefined, what: string) =>
  z.string().superRefine((v, ctx) => {
    const why = problem(v);
    if (why) ctx.addIssue({ code: 'custom', message: `${what} ${JSON.stringify(v)} ${why}` });
  });
const snapshotId = z.string().regex(SNAPSHOT_ID, 'not a snapshot id');
const count = z.number().int().nonnegative();
const isoTime = z.string().refine(isIsoTime, 'not an ISO 8601 UTC time');

const blobRefSchema = z.object({
  key: z.string(),
  size: count,
  sha256: z.string().regex(SHA256, 'not a sha256'),
  compression: z.enum(['zstd', 'gzip']),
  /** `age` when the stored blob is an age file (its key then ends in `.age`). */
  encryption: z.literal('age').optional(),
});
export type BlobRef = z.infer<typeof blobRefSchema>;

export const findingSchema = z.object({
  kind: z.string(),
  /** The source it concerns, in a snapshot's `errors` (a source's own findings leave it out). */
  source: z.string().optional(),
  path: z.string().optional(),
  line: z.number().int().optional(),
  message: z.string(),
});
/** A warning or data-validation finding, attached to a source or a snapshot. */
export type Finding = z.infer<typeof findingSchema>;

/** A source that could not be backed up at all; the snapshot holds the others and is partial. */
export const failedSourceSchema = z.object({
  name: z.string(),
  type: z.string(),
  origin: z.string().optional(),
  /** A stable error code, e.g. BACKUP_SOURCE_MISSING or BACKUP_REDIS_FAILED. */
  code: z.string(),
  reason: z.string(),
});
export type FailedSource = z.infer<typeof failedSourceSchema>;

/** What a `redis` source records about the server and its archive (docs/FORMAT.md). */
export const redisMetaSchema = z.object({
  server: z.object({
    version: z.string(),
    mode: z.enum(['standalone', 'sentinel', 'cluster']),
    /** The role of the node(s) read: master or replica. */
    role: z.string().optional(),
    nodes: z.number().int().positive().optional(),
  }),
  /** The highest RDB version among the payloads; a restore refuses a server that is older. */
  rdbVersion: z.number().int().nullable(),
  records: count,
  dbs: z.array(z.object({ db: z.number().refine(isRedisDb, 'not a Redis database number (0–65535)'), keys: count })),
  /** Keys SCAN returned that were deleted or expired before DUMP reached them. */
  skippedVanished: z.number().int().nonnegative(),
  /** Keys that could not be read (only in an emergency backup; each is in the snapshot's errors). */
  skippedErrors: z.number().int().nonnegative().default(0),
  pattern: z.string().optional(),
  pointInTime: z.literal(false),
  note: z.string(),
});
export type RedisMeta = z.infer<typeof redisMetaSchema>;

export const sourceMetaSchema = z.object({
  name: grammar(sourceNameProblem, 'source name'),
  type: z.string(),
  /** Where the source was read from, for the operator's eyes; restores never depend on it. */
  origin: z.string().optional(),
  archive: blobRefSchema,
  /** Every `files` source has one; a `redis` source has none (its archive lists itself). */
  index: blobRefSchema.extend({ entries: count }).optional(),
  stats: z.object({ files: count, dirs: count, symlinks: count, bytes: count }),
  findings: z.array(findingSchema).default([]),
  findingsTotal: z.number().int().default(0),
  /** Earlier snapshots whose archives hold some of this source's files (incrementals). */
  holders: z.array(snapshotId).default([]),
  /** Mode and mtime (ms) of the source's root folder, which has no index entry; absent in older snapshots. */
  root: z
    .object({
      mode: z.number().refine(isMode, 'not a mode (0–0o7777)'),
      mtime: z.number().refine(isTimeMs, 'not a time'),
    })
    .optional(),
  redis: redisMetaSchema.optional(),
});
export type SourceMeta = z.infer<typeof sourceMetaSchema>;

export const snapshotMetaSchema = z.object({
  format: z.number().int(),
  id: snapshotId,
  time: isoTime,
  host: z.string(),
  toolVersion: z.string(),
  kind: z.enum(['full', 'incremental']),
  /** The snapshot an incremental was compared with, and the full at the root of its chain. */
  parent: snapshotId.optional(),
  base: snapshotId.optional(),
  status: z.enum(['complete', 'partial']),
  tags: z.array(grammar(tagProblem, 'tag')),
  sources: z.array(sourceMetaSchema),
  /** Files that could not be read make a snapshot partial; each is listed here. */
  errors: z.array(findingSchema).default([]),
  /**
   * Sources that could not be read at all (the snapshot is partial
   * and holds the rest); absent in older snapshots (read as none).
   */
  failedSources: z.array(failedSourceSchema).optional(),
  /** The age recipients this snapshot's blobs were encrypted to (public keys only). */
  encryption: z
    .object({
      type: z.literal('age'),
      recipients: z.array(z.string().regex(AGE_RECIPIENT, 'not an age1… or age1pq1… recipient')),
    })
    .optional(),
});
export type SnapshotMeta = z.infer<typeof snapshotMetaSchema>;

export const KEYS = {
  config: 'config.json',
  snapshots: 'snapshots/',
  snapshot: (id: string) => `snapshots/${id}.json`,
  data: (id: string) => `data/${id}/`,
  archive: (id: string, source: string, ext: string) => `data/${id}/${source}${ext}`,
  index: (id: string, source: string, compression: 'zstd' | 'gzip') =>
    `data/${id}/${source}.index.jsonl.${compression === 'zstd' ? 'zst' : 'gz'}`,
  /** The repository identity, encrypted with its passphrase (only when it has one). */
  passphraseKey: 'keys/passphrase.age',
  locks: 'locks/',
  lock: (id: string) => `locks/${id}.json`,
};
