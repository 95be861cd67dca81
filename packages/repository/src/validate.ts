// The grammars of everything drkit reads back from a repository (docs/FORMAT.md, "What readers
// accept"). A repository sits on storage that other people and programs can write, so an id, a
// name, a path or a number is checked here before it builds a key, a file-system path, a lock
// name or a Redis command. Readers, restore and verify share these predicates, so "what restore
// refuses, verify reports" holds by construction. Bytes and signatures are checked elsewhere.

import { RepoError, RepoErrorCode } from './errors.js';
import { SNAPSHOT_ID } from './ids.js';

export { SNAPSHOT_ID };

/** `config.json` `id`: 32 lowercase hex digits, as `init` writes it; it names a folder of the host's cache. */
export const REPO_ID = /^[0-9a-f]{32}$/;
export const SHA256 = /^[0-9a-f]{64}$/;
/** age recipients: bech32, lowercase; X25519 (`age1…`) or hybrid post-quantum (`age1pq1…`, a 1,216-byte key). */
export const AGE_RECIPIENT = /^age1(?:[02-9ac-hj-np-z]{58}|pq1[02-9ac-hj-np-z]{1952})$/;

export const LIMITS = {
  /** A file name: what Linux file systems (ext4, xfs, btrfs) and tar's pax records hold. */
  segmentBytes: 255,
  /**
   * A path relative to its source. Restore writes each entry as one path argument below a staging
   * folder beside the target (`/.drkit-restore-<id>-XXXXXX/tree/`, 52 bytes at the shortest), and
   * Linux takes at most PATH_MAX = 4,096 bytes with the NUL: 4,000 leaves ~40 bytes for the target.
   */
  pathBytes: 4000,
  /** A symlink's target: PATH_MAX without the NUL. */
  linkTargetBytes: 4095,
  /** A source name is a key segment with up to 22 bytes of extension, and a folder name. */
  sourceNameBytes: 200,
  tagChars: 128,
  /** Redis's own limit is INT_MAX databases; each costs memory, and no deployment has more than a few thousand. */
  redisDbMax: 65_535,
  /** Redis's proto-max-bulk-len default: no server takes a longer key. */
  redisKeyBytes: 512 * 1024 * 1024,
  modeMax: 0o7777,
  /** ms since the epoch: the range of a JavaScript Date. */
  timeMs: 8.64e15,
} as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Bytes of `s` once encoded as a file name: UTF-8, except that a lone surrogate U+DC80–U+DCFF
 * stands for the raw byte 0x80–0xFF (PEP 383 surrogateescape, see docs/FORMAT.md).
 */
export function encodedBytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) n += 1;
    else n += 3;
  }
  return n;
}

// A string never takes more than 3 bytes per UTF-16 unit, so most need no count at all.
const within = (s: string, bytes: number) => s.length * 3 <= bytes || encodedBytes(s) <= bytes;

/** What is wrong with an entry path, or undefined. `escapes` marks names that could write outside a restore target. */
export interface PathProblem {
  why: string;
  escapes: boolean;
}

/**
 * An entry path as the index stores it: relative, `/`-separated, any character but NUL, no
 * empty, `.` or `..` segment, each segment ≤ 255 bytes, the whole ≤ 4,000 bytes (LIMITS).
 */
export function entryPathProblem(path: string): PathProblem | undefined {
  if (path === '') return { why: 'is empty', escapes: true };
  if (path.includes('\0')) return { why: 'contains a NUL byte', escapes: true };
  if (path.charCodeAt(0) === 0x2f) return { why: 'is an absolute path', escapes: true };
  let start = 0;
  for (;;) {
    const end = path.indexOf('/', start);
    const seg = end < 0 ? path.slice(start) : path.slice(start, end);
    if (seg === '..') return { why: 'climbs out with ".."', escapes: true };
    if (seg === '' || seg === '.') return { why: 'has an empty or "." segment', escapes: false };
    if (!within(seg, LIMITS.segmentBytes))
      return {
        why: `has a name of ${encodedBytes(seg)} bytes (file systems hold ${LIMITS.segmentBytes})`,
        escapes: false,
      };
    if (end < 0) break;
    start = end + 1;
  }
  if (!within(path, LIMITS.pathBytes))
    return {
      why: `is ${encodedBytes(path)} bytes long (a restore can write at most ${LIMITS.pathBytes})`,
      escapes: false,
    };
  if (!isWellFormed(path) && STRAY_SURROGATE.test(path))
    return { why: 'holds a lone surrogate that stands for no byte (only U+DC80–U+DCFF do)', escapes: false };
  return undefined;
}

// Native and fast (Node ≥ 20); only a name with a lone surrogate pays for the pattern below.
const isWellFormed = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();
/** A lone surrogate outside U+DC80–U+DCFF: no byte of a file name decodes to it (surrogateescape). */
const STRAY_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udc7f\udd00-\udfff]/;

/** A symlink's target: anything a symlink can hold (absolute and `..` too: restore never follows it). */
export function linkTargetProblem(target: string | undefined): string | undefined {
  if (target === undefined || target === '') return 'has no link target';
  if (target.includes('\0')) return 'has a link target containing a NUL byte';
  if (!within(target, LIMITS.linkTargetBytes))
    return `has a link target of ${encodedBytes(target)} bytes (at most ${LIMITS.linkTargetBytes})`;
  return undefined;
}

/** What a restore refuses in one index entry, by itself; verify reports the same. */
export function indexEntryProblem(entry: { path: string; type: string; linkTarget?: string }): PathProblem | undefined {
  const path = entryPathProblem(entry.path);
  if (path || entry.type !== 'symlink') return path;
  const target = linkTargetProblem(entry.linkTarget);
  return target ? { why: target, escapes: false } : undefined;
}

/** A source name becomes a key segment and a folder name: one plain name, no control characters. */
export function sourceNameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'is not a folder name';
  if (/[/\\]/.test(name)) return 'contains a "/" or "\\"';
  if (CONTROL.test(name)) return 'contains a control character';
  if (!within(name, LIMITS.sourceNameBytes)) return `is longer than ${LIMITS.sourceNameBytes} bytes`;
  return undefined;
}

/** A tag: 1–128 characters, no control characters, no space at either end. */
export function tagProblem(tag: string): string | undefined {
  if (tag === '') return 'is empty';
  if (tag.length > LIMITS.tagChars) return `is longer than ${LIMITS.tagChars} characters`;
  if (CONTROL.test(tag)) return 'contains a control character';
  if (tag.trim() !== tag) return 'starts or ends with a space';
  return undefined;
}

/** Writers refuse what readers would refuse: a tag the format cannot store (REPO_INVALID_NAME). */
export function assertTag(tag: string): void {
  const problem = tagProblem(tag);
  if (problem)
    throw new RepoError(RepoErrorCode.INVALID_NAME, `The tag ${JSON.stringify(tag)} ${problem}.`, {
      hint: 'Use tags of 1–128 characters, without control characters or spaces at either end.',
      details: { tag },
    });
}

/** …and a source name that is not one plain folder name (REPO_INVALID_NAME). */
export function assertSourceName(name: string): void {
  const problem = sourceNameProblem(name);
  if (problem)
    throw new RepoError(RepoErrorCode.INVALID_NAME, `The source name ${JSON.stringify(name)} ${problem}.`, {
      hint: 'Name sources with letters, digits, ".", "_" or "-" (it becomes a folder name on restore).',
      details: { source: name },
    });
}

export const isSnapshotId = (v: unknown): v is string => typeof v === 'string' && SNAPSHOT_ID.test(v);
export const isMode = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LIMITS.modeMax;
export const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
export const isTimeMs = (v: unknown): v is number => typeof v === 'number' && v >= -LIMITS.timeMs && v <= LIMITS.timeMs;
export const isRedisDb = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LIMITS.redisDbMax;
/** An ISO 8601 time as drkit writes them (`toISOString`), that Date can read. */
export const isIsoTime = (v: unknown): v is string =>
  typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) && Number.isFinite(Date.parse(v));

/** The entry types an index holds, and the least each needs; a restore cannot do without any of it. */
export interface TreeEntry {
  path: string;
  type: string;
}

/**
 * A cross-entry problem of an index, keyed by normalised path: an entry below a symlink (writing
 * it would go through the link) or below a file. Checked up to the nearest indexed folder: the
 * folders above it are checked as entries themselves.
 */
export function entryPlacementProblem<E extends TreeEntry>(
  entry: E,
  index: ReadonlyMap<string, E>,
): { above: string; type: 'symlink' | 'file' } | undefined {
  for (let cut = entry.path.lastIndexOf('/'); cut > 0; cut = entry.path.lastIndexOf('/', cut - 1)) {
    const above = entry.path.slice(0, cut);
    const type = index.get(above)?.type;
    if (type === undefined) continue;
    if (type === 'dir') return undefined;
    if (type === 'symlink' || type === 'file') return { above, type };
  }
  return undefined;
}
