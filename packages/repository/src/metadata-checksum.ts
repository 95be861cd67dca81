import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { RepoError, RepoErrorCode } from './errors.js';

/**
 * Every metadata file drkit writes (config.json, snapshots/<id>.json, locks/<id>.json) carries
 * `"checksum": "sha256:<hex>"`, the sha256 of the canonical JSON of the object without that
 * field. It catches bit rot, not an attacker: anyone can recompute it (signatures do that job).
 */
export const CHECKSUM_FIELD = 'checksum';

const CHECKSUM = /^sha256:[0-9a-f]{64}$/;

export function metadataChecksum(object: Record<string, unknown>): string {
  const { [CHECKSUM_FIELD]: _old, ...rest } = object;
  return `sha256:${createHash('sha256').update(canonicalJson(rest)).digest('hex')}`;
}

/** The bytes of a metadata file: `object` as JSON with a fresh checksum. */
export function encodeMetadata(object: object, options: { pretty?: boolean } = {}): Buffer {
  // Through JSON once, so the checksum covers exactly what a reader will parse (no undefined fields).
  const { [CHECKSUM_FIELD]: _old, ...plain } = JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
  const stored = { ...plain, [CHECKSUM_FIELD]: metadataChecksum(plain) };
  return Buffer.from(options.pretty === false ? JSON.stringify(stored) : `${JSON.stringify(stored, null, 2)}\n`);
}

/**
 * Throws REPO_CHECKSUM_MISMATCH when a parsed metadata file does not match its checksum. A file
 * without one was written before checksums (format v1 readers accept it) unless it has a
 * top-level field this reader does not know: every writer that adds fields also writes a
 * checksum, so that is a damaged `checksum` field name. Removing the field on purpose is not bit
 * rot; a pinned signing key catches that for snapshots.
 */
export function checkMetadataChecksum(json: unknown, known: ReadonlySet<string>, key: string, location: string): void {
  // not metadata at all: the schema says so
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return;
  const object = json as Record<string, unknown>;
  const recorded = object[CHECKSUM_FIELD];
  if (recorded === undefined) {
    const unknown = Object.keys(object).filter((k) => !known.has(k));
    if (unknown.length > 0)
      throw mismatch(
        key,
        location,
        `it has no checksum but a field drkit does not know (` +
          `${unknown.map((k) => JSON.stringify(k)).join(', ')}): the checksum's name is damaged`,
      );
    return;
  }
  if (typeof recorded !== 'string' || !CHECKSUM.test(recorded))
    throw mismatch(key, location, `its checksum ${JSON.stringify(recorded)} is not of the form sha256:<64 hex digits>`);
  const computed = metadataChecksum(object);
  if (computed !== recorded)
    throw mismatch(
      key,
      location,
      `its content does not match its checksum (recorded ${recorded.slice(0, 19)}…, ` +
        `computed ${computed.slice(0, 19)}…)`,
    );
}

/**
 * For the message about a format this drkit does not read: whether
 * its checksum (if any) still matches as version 1 computes it.
 */
export function damagedNote(json: unknown): string {
  const recorded = (json as Record<string, unknown> | null)?.[CHECKSUM_FIELD];
  if (typeof recorded !== 'string' || recorded === metadataChecksum(json as Record<string, unknown>)) return '';
  return ' Its checksum does not match either: it may be a damaged version 1 file (bit rot in the format field).';
}

function mismatch(key: string, location: string, why: string): RepoError {
  return new RepoError(RepoErrorCode.CHECKSUM_MISMATCH, `${key} in ${location} is damaged: ${why}.`, {
    hint:
      'The file changed after drkit wrote it (bit rot, or an edit). Restore it from another copy of the ' +
      'repository; `drkit verify all` shows what else is affected. docs/FORMAT.md shows how to recompute a ' +
      'checksum after a deliberate edit.',
    details: { key },
  });
}
