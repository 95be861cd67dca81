import type { IndexEntry, Repository, SnapshotMeta } from '@drkit/repository';

/** The decision between a full and an incremental, with the reason the user sees. */
export interface ChainDecision {
  parent: SnapshotMeta | undefined;
  reason: string;
}

export interface ChainOptions {
  full?: boolean;
  /** A full is due when the chain's full is older than this (ms), e.g. 7 days. */
  fullEveryMs?: number;
  now: Date;
}

/** An unchanged file's entry in the parent, and the snapshot whose archive holds its bytes. */
export interface PreviousFile {
  entry: IndexEntry;
  holder: string;
}

/**
 * Incrementals build on the newest snapshot that has every file source of this backup; a full
 * is made when asked, when none exists, or when the chain's full is older than `fullEveryMs`.
 */
export async function chooseParent(repo: Repository, fileSources: string[], options: ChainOptions): Promise<ChainDecision> {
  if (options.full) return { parent: undefined, reason: 'full backup requested' };
  if (fileSources.length === 0) return { parent: undefined, reason: 'no file sources' };
  const all = await repo.listSnapshots();
  const parent = all.reverse().find((s) => fileSources.every((name) => s.sources.some((x) => x.name === name && x.type === 'files')));
  if (!parent) return { parent: undefined, reason: 'no earlier snapshot of these sources' };
  // Backups need only public keys; comparing with the parent means reading its encrypted index.
  if (!repo.keys.canDecrypt && parent.sources.some((s) => fileSources.includes(s.name) && s.index?.encryption))
    return { parent: undefined, reason: 'the repository is encrypted and no identity was given, so the previous index cannot be read (--identity makes incrementals possible)' };
  const baseId = parent.base ?? parent.id;
  // From the listing: a full whose metadata is damaged makes a new full, not a failed backup.
  const base = all.find((s) => s.id === baseId);
  if (!base) return { parent: undefined, reason: `the chain's full snapshot ${baseId} is gone or its metadata is damaged` };
  if (options.fullEveryMs !== undefined && options.now.getTime() - Date.parse(base.time) >= options.fullEveryMs)
    return { parent: undefined, reason: `the last full (${base.id}) is older than the full_every interval` };
  return { parent, reason: `incremental on ${parent.id}` };
}

/** The parent's files for one source, by path. */
export async function previousFiles(repo: Repository, parent: SnapshotMeta, sourceName: string): Promise<Map<string, PreviousFile>> {
  const files = new Map<string, PreviousFile>();
  const source = parent.sources.find((s) => s.name === sourceName);
  if (!source) return files;
  for await (const entry of repo.readIndex(source)) if (entry.type === 'file') files.set(entry.path, { entry, holder: entry.in ?? parent.id });
  return files;
}
