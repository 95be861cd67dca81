import { EXTENSIONS } from './codec.js';
import { AGE_SUFFIX } from './encryption.js';
import { type BlobRef, KEYS, type SnapshotMeta } from './format.js';
import { REDIS_EXTENSIONS } from './redis-records.js';
import { SNAPSHOT_ID } from './validate.js';

/** The snapshot id a metadata key names (`snapshots/<id>.json`), or undefined when it names none. */
export function snapshotIdOfKey(key: string): string | undefined {
  const id = key.slice(KEYS.snapshots.length, -'.json'.length);
  return key === KEYS.snapshot(id) && SNAPSHOT_ID.test(id) ? id : undefined;
}

/**
 * Why metadata read from `snapshots/<id>.json` does not describe the snapshot its key names, or
 * undefined. A snapshot's identity is its key: its `id` must equal it, and every blob it names
 * must be the one the format puts under that id and source, so a changed field can neither
 * point a restore or a prune at another snapshot's data nor out of `data/<id>/`.
 */
export function snapshotMetaProblem(meta: SnapshotMeta, id: string): string | undefined {
  if (meta.id !== id) return `its id "${meta.id}" differs from its file name`;
  const names = new Set<string>();
  for (const s of meta.sources) {
    if (names.has(s.name)) return `source "${s.name}" appears twice`;
    names.add(s.name);
    const archive = blobProblem(
      s.archive,
      KEYS.archive(id, s.name, (s.redis ? REDIS_EXTENSIONS : EXTENSIONS)[s.archive.compression]),
    );
    if (archive) return `the archive of source "${s.name}" ${archive}`;
    if (s.type === 'files' && !s.index) return `file source "${s.name}" has no index`;
    const index = s.index && blobProblem(s.index, KEYS.index(id, s.name, s.index.compression));
    if (index) return `the index of source "${s.name}" ${index}`;
    if (s.holders.includes(id)) return `source "${s.name}" names its own snapshot as a holder`;
  }
  return undefined;
}

function blobProblem(ref: BlobRef, plainKey: string): string | undefined {
  const expected = ref.encryption ? `${plainKey}${AGE_SUFFIX}` : plainKey;
  return ref.key === expected ? undefined : `is "${ref.key}" where the format puts it at "${expected}"`;
}
