import { type IndexEntry, type Repository, type SnapshotMeta, type SourceMeta, sourceNames } from '@drkit/repository';
import { retentionGroupKey } from './retention/plan.js';
import type { KnownName } from './walk.js';

/** The decision between a full and an incremental, with the reason the user sees. */
export interface ChainDecision {
  parent: SnapshotMeta | undefined;
  reason: string;
}

export interface ChainOptions {
  /** The host the new snapshot is for: a parent comes from the same host only. */
  host: string;
  full?: boolean;
  /** A full is due when the chain's full is older than this (ms), e.g. 7 days. */
  fullEveryMs?: number;
  now: Date;
  /** Whether this host kept its own file lists of a snapshot (see ChangeCache), for encrypted repositories. */
  cached?: (snapshotId: string, sources: readonly string[]) => Promise<boolean>;
}

/** An unchanged file's entry in the parent, and the snapshot whose archive holds its bytes. */
export interface PreviousFile {
  entry: IndexEntry;
  holder: string;
}

/** A folder of the parent, and the names the parent's index holds in it. */
export interface PreviousFolder {
  entry: IndexEntry;
  names: KnownName[];
}

/** What an incremental compares the tree with: the parent's reusable files and its folders. */
export interface PreviousTree {
  files: Map<string, PreviousFile>;
  folders: Map<string, PreviousFolder>;
}

/** A source of the backup being made, as the parent must have read it. */
export interface ChainSource {
  name: string;
  type: string;
  /** A file source's absolute path, a Redis source's masked label: what the snapshot records as `origin`. */
  origin?: string;
}

/**
 * Incrementals build on the newest snapshot of the same host and the same sources (so a chain
 * never crosses retention groups) that read each source from the same place: a source name that
 * now points at another folder or server starts a new chain. A source that failed in that
 * snapshot counts as one of its sources (its files are then read in full). A full is made when
 * asked, when none exists, or when the chain's full is older than `fullEveryMs`.
 */
export async function chooseParent(
  repo: Repository,
  sources: readonly ChainSource[],
  options: ChainOptions,
): Promise<ChainDecision> {
  if (options.full) return { parent: undefined, reason: 'full backup requested' };
  const fileSources = sources.filter((s) => s.type === 'files').map((s) => s.name);
  if (fileSources.length === 0) return { parent: undefined, reason: 'no file sources' };
  // The same retention group, so a chain never crosses groups.
  const group = retentionGroupKey(
    options.host,
    sources.map((s) => s.name),
  );
  const all = await repo.listSnapshots();
  const sameGroup = [...all].reverse().filter((s) => retentionGroupKey(s.host, sourceNames(s)) === group);
  const parent = sameGroup.find(
    (s) =>
      movedSource(s, sources) === undefined &&
      s.sources.some((x) => x.type === 'files' && fileSources.includes(x.name)),
  );
  if (!parent) {
    const moved = sameGroup.length ? movedSource(sameGroup[0]!, sources) : undefined;
    return {
      parent: undefined,
      reason: moved
        ? `source "${moved.name}" now reads ${moved.now}, but the newest snapshot of these sources on ` +
          `host ${options.host} (${sameGroup[0]!.id}) read ${moved.was}: a new chain starts`
        : `no earlier snapshot of these sources on host ${options.host}`,
    };
  }
  const held = fileSources.filter((name) => parent.sources.some((x) => x.name === name));
  // Backups need only public keys; comparing with the parent means reading its encrypted index.
  if (
    !repo.keys.canDecrypt &&
    parent.sources.some((s) => held.includes(s.name) && s.index?.encryption) &&
    !(await options.cached?.(parent.id, held))
  )
    return {
      parent: undefined,
      reason:
        `the repository is encrypted, no identity was given, and this host's cache has no file list ` +
        `of ${parent.id}, so unchanged files cannot be recognised`,
    };
  const baseId = parent.base ?? parent.id;
  // From the listing: a full whose metadata is damaged makes a new full, not a failed backup.
  const base = all.find((s) => s.id === baseId);
  if (!base)
    return { parent: undefined, reason: `the chain's full snapshot ${baseId} is gone or its metadata is damaged` };
  if (options.fullEveryMs !== undefined && options.now.getTime() - Date.parse(base.time) >= options.fullEveryMs)
    return { parent: undefined, reason: `the last full (${base.id}) is older than the full_every interval` };
  const notHeld = fileSources.filter((name) => !held.includes(name));
  return {
    parent,
    reason:
      `incremental on ${parent.id}` +
      `${notHeld.length ? ` (${notHeld.join(', ')} failed there and is read in full)` : ''}`,
  };
}

/** The first source that `snapshot` (held or failed) read from another place or as another type, if any. */
function movedSource(
  snapshot: SnapshotMeta,
  sources: readonly ChainSource[],
): { name: string; was: string; now: string } | undefined {
  const recorded = [...snapshot.sources, ...(snapshot.failedSources ?? [])];
  for (const s of sources) {
    const r = recorded.find((x) => x.name === s.name);
    if (!r) continue;
    if (r.type !== s.type) return { name: s.name, was: `a ${r.type} source`, now: `a ${s.type} source` };
    // Snapshots record origins; one without cannot be shown to have read the same place.
    if (s.origin !== undefined && r.origin !== s.origin)
      return { name: s.name, was: r.origin ?? 'an unrecorded place', now: s.origin };
  }
  return undefined;
}

/**
 * The parent's files for one source that an incremental may reuse, by path. A file whose
 * archived copy is known to be bad is left out, so it is read again: one that could not be read
 * (an error of the snapshot that holds its bytes) or that changed while it was read (a `changed`
 * finding there). Otherwise its unchanged size, mtime, ctime and inode would make every later
 * incremental point at the padded or mixed copy forever. Folders come with the names indexed in
 * them, so an unchanged folder need not be listed again (see KnownNames).
 */
export async function previousTree(
  repo: Repository,
  parent: SnapshotMeta,
  sourceName: string,
  readIndex: (source: SourceMeta) => AsyncIterable<IndexEntry> = (source) => repo.readIndex(source),
): Promise<PreviousTree> {
  const tree: PreviousTree = { files: new Map(), folders: new Map() };
  const source = parent.sources.find((s) => s.name === sourceName);
  if (!source) return tree;
  const suspect = await suspectPaths(repo, parent, source);
  for await (const entry of readIndex(source)) {
    const cut = entry.path.lastIndexOf('/');
    // The index is in walk order, so a folder comes before its names and they come sorted. The
    // root has no index entry (it is always listed), so top-level names are not gathered.
    if (cut > 0)
      tree.folders.get(entry.path.slice(0, cut))?.names.push({ name: entry.path.slice(cut + 1), kind: entry.type });
    if (entry.type === 'dir') tree.folders.set(entry.path, { entry, names: [] });
    if (entry.type !== 'file') continue;
    const holder = entry.in ?? parent.id;
    // A holder we know nothing about (its metadata is gone) cannot vouch for its bytes either.
    const bad = suspect.get(holder);
    if (!bad || bad.has(entry.path)) continue;
    tree.files.set(entry.path, { entry, holder });
  }
  return tree;
}

/** For the parent and each snapshot holding its files: the paths whose archived copy is not trustworthy. */
async function suspectPaths(
  repo: Repository,
  parent: SnapshotMeta,
  source: SourceMeta,
): Promise<Map<string, Set<string>>> {
  const bySnapshot = new Map<string, Set<string>>();
  const holders = await Promise.all(source.holders.filter((id) => id !== parent.id).map((id) => repo.findSnapshot(id)));
  for (const snap of [parent, ...holders]) {
    if (!snap) continue;
    const own = snap.sources.find((s) => s.name === source.name);
    // Older errors do not name their source: such a path is suspect in every source (a re-read, never a wrong reuse).
    const paths = new Set(
      snap.errors.flatMap((f) =>
        f.path === undefined || (f.source !== undefined && f.source !== source.name) ? [] : [f.path],
      ),
    );
    for (const f of own?.findings ?? []) if (f.kind === 'changed' && f.path !== undefined) paths.add(f.path);
    bySnapshot.set(snap.id, paths);
  }
  return bySnapshot;
}
