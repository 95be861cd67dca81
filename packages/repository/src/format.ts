import * as z from 'zod';

export const FORMAT_VERSION = 1;

export const repoConfigSchema = z.object({
  format: z.number().int(),
  id: z.string(),
  created: z.string(),
  compression: z.enum(['auto', 'zstd', 'gzip']).default('auto'),
  /** Set when archives and indexes are encrypted with age (docs/FORMAT.md, "Encryption"). */
  encryption: z
    .object({
      type: z.literal('age'),
      /** Public keys every new blob is encrypted to; backups need nothing else. */
      recipients: z.array(z.string()).min(1),
      /** Key of an age identity encrypted with the repository passphrase (scrypt), if there is one. */
      passphraseKey: z.string().optional(),
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
  /** A folder's name count when it was listed while settled: with unchanged times, the next incremental reuses the indexed names. */
  names?: number;
  /** Set when the bytes live in an earlier snapshot's archive (an unchanged file in an incremental). */
  in?: string;
}

const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);
const isString = (v: unknown) => typeof v === 'string';
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/**
 * A parsed index line if it has the shape of an IndexEntry, else undefined. Checked by hand, not
 * by a schema library: an index has one line per entry, and copying each into a new object cost
 * an unchanged incremental more than reading the tree's folders did.
 */
export function asIndexEntry(v: unknown): IndexEntry | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  const ok =
    isString(e.path) &&
    entryTypes.includes(e.type as IndexEntry['type']) &&
    Number.isInteger(e.mode) &&
    isNumber(e.mtime) &&
    optional(e.size, isCount) &&
    optional(e.sha256, isString) &&
    optional(e.linkTarget, isString) &&
    optional(e.ctime, isNumber) &&
    optional(e.ino, isNumber) &&
    optional(e.names, isCount) &&
    optional(e.in, isString);
  return ok ? (e as unknown as IndexEntry) : undefined;
}

const blobRefSchema = z.object({
  key: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  compression: z.enum(['zstd', 'gzip']),
  /** `age` when the stored blob is an age file (its key then ends in `.age`). */
  encryption: z.literal('age').optional(),
});
export type BlobRef = z.infer<typeof blobRefSchema>;

export const findingSchema = z.object({
  kind: z.string(),
  path: z.string().optional(),
  line: z.number().int().optional(),
  message: z.string(),
});
/** A warning or data-validation finding, attached to a source or a snapshot. */
export type Finding = z.infer<typeof findingSchema>;

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
  records: z.number().int().nonnegative(),
  dbs: z.array(z.object({ db: z.number().int().nonnegative(), keys: z.number().int().nonnegative() })),
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
  name: z.string(),
  type: z.string(),
  /** Where the source was read from, for the operator's eyes; restores never depend on it. */
  origin: z.string().optional(),
  archive: blobRefSchema,
  /** Every `files` source has one; a `redis` source has none (its archive lists itself). */
  index: blobRefSchema.extend({ entries: z.number().int().nonnegative() }).optional(),
  stats: z.object({
    files: z.number().int(),
    dirs: z.number().int(),
    symlinks: z.number().int(),
    bytes: z.number().int(),
  }),
  findings: z.array(findingSchema).default([]),
  findingsTotal: z.number().int().default(0),
  /** Earlier snapshots whose archives hold some of this source's files (incrementals). */
  holders: z.array(z.string()).default([]),
  /** Mode and mtime (ms) of the source's root folder, which has no index entry; absent in older snapshots. */
  root: z.object({ mode: z.number().int(), mtime: z.number() }).optional(),
  redis: redisMetaSchema.optional(),
});
export type SourceMeta = z.infer<typeof sourceMetaSchema>;

export const snapshotMetaSchema = z.object({
  format: z.number().int(),
  id: z.string(),
  time: z.string(),
  host: z.string(),
  toolVersion: z.string(),
  kind: z.enum(['full', 'incremental']),
  /** The snapshot an incremental was compared with, and the full at the root of its chain. */
  parent: z.string().optional(),
  base: z.string().optional(),
  status: z.enum(['complete', 'partial']),
  tags: z.array(z.string()),
  sources: z.array(sourceMetaSchema),
  /** Files that could not be read make a snapshot partial; each is listed here. */
  errors: z.array(findingSchema).default([]),
  /** The age recipients this snapshot's blobs were encrypted to (public keys only). */
  encryption: z.object({ type: z.literal('age'), recipients: z.array(z.string()) }).optional(),
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
