import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, open, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import {
  BufferPool,
  decodeName,
  type Finding,
  fsPath,
  type IndexEntry,
  lend,
  type SourceItem,
} from '@drkit/repository';
import { errnoCode } from '@drkit/errors';
import { BackupError, BackupErrorCode } from './errors.js';
import type { PreviousFolder, PreviousTree } from './incremental.js';
import {
  type EntryTally,
  type KnownNames,
  type WalkEntry,
  type WalkOptions,
  type WalkProblem,
  walkEntries,
} from './walk.js';

const CHUNK = 1 << 20;

/** Opens a file for reading; a port so tests can inject faults root cannot otherwise produce. */
export type OpenFile = (absPath: string) => Promise<FileHandle>;

/**
 * Non-blocking, so that a FIFO swapped in for a file after the walk cannot hang the open (it
 * has no effect on reading a regular file); the caller then sees from fstat that it is no file.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export const openForBackup: OpenFile = (p) => open(fsPath(p), READ_FLAGS);

export interface FileSourceReport {
  /** Something the user should know; the snapshot is still complete. */
  warn(f: Finding): void;
  /** Something was not backed up; the snapshot becomes partial. */
  error(f: Finding): void;
  /**
   * Each regular file's bytes as they are archived (e.g. for data validation); the chunk's memory is reused after the
   * call, so copy what you keep.
   */
  tap?(path: string): ((chunk: Buffer) => void) | undefined;
  /** Called once per regular file; `read` is false when an unchanged file was not read. */
  fileDone?(path: string, bytes: number, read: boolean): void;
}

/** How an incremental recognises unchanged files (and folders, which it then does not list again). */
export interface ChangeDetection extends PreviousTree {
  /** Hash every file and compare contents instead of trusting size, mtime, ctime and inode. */
  rehash?: boolean;
}

/** Files this small are read whole while earlier entries are still being archived. */
const SMALL_FILE = 256 * 1024;
/** Walk entries looked at ahead of the one being archived (bounds memory to ~AHEAD small files). */
const AHEAD = 16;

/** A file opened (and, when small, read and closed) ahead of its turn. */
type Prepared =
  | { error: unknown }
  | { notFile: true }
  | { fh: FileHandle; st: Stats }
  | { st: Stats; data: Buffer; got: number; readError?: unknown; after: Stats };

type Queued = { problem: WalkProblem } | { e: WalkEntry; prepared?: Promise<Prepared> };

/**
 * Turns a folder into archive entries; unreadable files are reported, never silently skipped.
 * New files are opened, stat'ed and (when small) read a few entries ahead, so the round trips
 * of many small files overlap instead of queueing behind each other; everything is still
 * reported and yielded in walk order.
 */
export async function* fileSourceItems(
  root: string,
  walk: WalkOptions & { name: string },
  report: FileSourceReport,
  openFile: OpenFile = openForBackup,
  changes?: ChangeDetection,
  tally: EntryTally = { seen: 0, left: 0, skipped: 0 },
): AsyncGenerator<SourceItem> {
  const problem = (path: string, error: unknown) =>
    report.error({ kind: 'unreadable', path, message: `could not read ${path}: ${describe(error)}` });
  const queue: Queued[] = [];
  const pool = new BufferPool(CHUNK, 4);
  // Walk problems are queued too, so they are reported in walk order, not ahead of time.
  const known = changes && !changes.rehash ? knownNames(changes.folders) : undefined;
  let walker: Iterator<WalkEntry> = [][Symbol.iterator]();
  let walked = false;
  const fill = () => {
    while (!walked && queue.length < AHEAD) {
      const r = walker.next();
      if (r.done) walked = true;
      else {
        const e = r.value;
        // Files an incremental may skip, or must hash first, keep their one-at-a-time path.
        const ahead = e.kind === 'file' && !changes?.files.has(e.rel);
        queue.push(ahead ? { e, prepared: prepare(openFile, e.abs) } : { e });
      }
    }
  };
  try {
    walker = (
      await walkEntries(root, walk, (p) => queue.push({ problem: p }), known, tally).catch((error) =>
        Promise.reject(rootFailure(error)),
      )
    )[Symbol.iterator]();
    for (;;) {
      fill();
      const q = queue.shift();
      if (!q) break;
      if ('problem' in q) {
        // The root itself failing to list fails the source, never a race to shrug off.
        if (q.problem.rel === '.') throw rootFailure(q.problem.error);
        readProblem(q.problem.rel, q.problem.error, q.problem.skipped);
        continue;
      }
      const e = q.e;
      const s = e.stats;
      if (e.kind === 'dir' && s) yield { path: e.rel, type: 'dir', ...owner(s), size: 0, names: e.names };
      else if (e.kind === 'symlink' && s) {
        try {
          yield {
            path: e.rel,
            type: 'symlink',
            ...owner(s),
            size: 0,
            linkTarget: decodeName(await readlink(fsPath(e.abs), 'buffer')),
          };
        } catch (error) {
          readProblem(e.rel, error);
        }
      } else if (e.kind === 'other') {
        specialFile(e.rel);
      } else if (e.kind === 'file' && q.prepared) {
        const p = await q.prepared;
        if ('notFile' in p) {
          specialFile(e.rel);
          continue;
        }
        if ('error' in p) {
          readProblem(e.rel, p.error);
          continue;
        }
        if ('data' in p) {
          // Read already: a failed or changing copy gets no ctime/inode, so it never passes as unchanged later.
          const sound = p.readError === undefined && !changedWhileRead(p.st, p.after, p.st.size - p.got);
          yield {
            path: e.rel,
            type: 'file',
            ...owner(p.st, sound),
            size: p.st.size,
            content: () => readAhead(p, e.rel, report),
          };
          continue;
        }
        try {
          yield {
            path: e.rel,
            type: 'file',
            ...owner(p.st),
            size: p.st.size,
            content: () => readExactly(p.fh, e.rel, p.st, report, pool),
          };
        } finally {
          await p.fh.close().catch(() => {});
        }
      } else if (e.kind === 'file') {
        const prev = changes?.files.get(e.rel);
        if (prev && !changes?.rehash) {
          // An unchanged file is not opened at all: its bytes stay in the holder's archive.
          const st = lstatOrUndefined(e.abs);
          if (st?.isFile() && unchanged(st, prev.entry)) {
            report.fileDone?.(e.rel, st.size, false);
            yield {
              path: e.rel,
              type: 'file',
              ...owner(st),
              size: st.size,
              sha256: prev.entry.sha256,
              heldBy: prev.holder,
            };
            continue;
          }
        }
        let fh: FileHandle;
        let st: Stats;
        try {
          fh = await openFile(e.abs);
          st = await fh.stat();
        } catch (error) {
          readProblem(e.rel, error);
          continue;
        }
        if (!st.isFile()) {
          await fh.close().catch(() => {});
          specialFile(e.rel);
          continue;
        }
        try {
          if (prev && changes?.rehash && (await hashOf(fh, st.size)) === prev.entry.sha256) {
            report.fileDone?.(e.rel, st.size, true);
            yield {
              path: e.rel,
              type: 'file',
              ...owner(st),
              size: st.size,
              sha256: prev.entry.sha256,
              heldBy: prev.holder,
            };
            continue;
          }
          yield {
            path: e.rel,
            type: 'file',
            ...owner(st),
            size: st.size,
            content: () => readExactly(fh, e.rel, st, report, pool),
          };
        } finally {
          await fh.close().catch(() => {});
        }
      }
    }
  } finally {
    // Stopped early (a failure downstream): close what was opened ahead.
    for (const q of queue.splice(0))
      if ('prepared' in q) q.prepared?.then((p) => ('fh' in p ? p.fh.close() : undefined)).catch(() => {});
    walker.return?.();
  }

  // Thrown before any entry: the backup records the source as failed and keeps the others.
  function rootFailure(error: unknown): BackupError {
    const missing = errnoCode(error) === 'ENOENT';
    return new BackupError(
      missing ? BackupErrorCode.SOURCE_MISSING : BackupErrorCode.SOURCE_UNREADABLE,
      `Source "${walk.name}": ${root} ${missing ? 'is gone' : `cannot be listed (${describe(error)})`}.`,
      {
        cause: error,
        hint: 'Check the path, and that drkit runs as a user who can read it.',
        details: { source: walk.name, path: root },
      },
    );
  }

  function specialFile(rel: string) {
    tally.skipped++;
    report.warn({
      kind: 'special-file',
      path: rel,
      message: `${rel} is a socket, FIFO or device (or became one while the backup ran); it was not backed up`,
    });
  }

  /** `skipped`: the entry is left out (else only part of it, e.g. a folder's names, is missing). */
  function readProblem(rel: string, error: unknown, skipped = true) {
    if (skipped) tally.skipped++;
    // Vanished between listing and reading: a normal race on a live system, not a failure.
    if (errnoCode(error) === 'ENOENT')
      report.warn({ kind: 'vanished', path: rel, message: `${rel} was deleted while the backup ran` });
    else problem(rel, error);
  }
}

/** Opens and stats a file; a small one is also read whole and closed. */
async function prepare(openFile: OpenFile, abs: string): Promise<Prepared> {
  if (openFile === openForBackup) {
    const small = readSmallSync(abs);
    if (small) return small;
  }
  let fh: FileHandle | undefined;
  let st: Stats;
  try {
    fh = await openFile(abs);
    st = await fh.stat();
  } catch (error) {
    await fh?.close().catch(() => {});
    return { error };
  }
  if (!st.isFile()) {
    await fh.close().catch(() => {});
    return { notFile: true };
  }
  if (st.size > SMALL_FILE) return { fh, st };
  const data = Buffer.allocUnsafe(st.size);
  let got = 0;
  let readError: unknown;
  try {
    while (got < st.size) {
      const { bytesRead } = await fh.read(data, got, st.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } catch (error) {
    readError = error ?? new Error('read failed');
  }
  const after = await fh.stat().catch(() => st);
  await fh.close().catch(() => {});
  return { st, data, got, readError, after };
}

/**
 * Reads a small file with blocking calls, or returns undefined for a larger one. On a cached
 * tree each blocking call costs a few µs, while each async round trip costs the main thread
 * ~30 µs, and a tree of many small files is mostly round trips.
 */
function readSmallSync(abs: string): Prepared | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(fsPath(abs), READ_FLAGS);
    const st = fstatSync(fd);
    if (!st.isFile()) return { notFile: true };
    if (st.size > SMALL_FILE) return undefined;
    const data = Buffer.allocUnsafe(st.size);
    let got = 0;
    let readError: unknown;
    try {
      for (let n = 1; got < st.size && n > 0; got += n) n = readSync(fd, data, got, st.size - got, got);
    } catch (error) {
      readError = error ?? new Error('read failed');
    }
    return { st, data, got, readError, after: statOr(fd, st) };
  } catch (error) {
    return { error };
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

/** Blocking (see readSmallSync); a file that cannot be stat'ed is simply read like a new one. */
function lstatOrUndefined(abs: string): Stats | undefined {
  try {
    return lstatSync(fsPath(abs));
  } catch {
    return undefined;
  }
}

function statOr(fd: number, fallback: Stats): Stats {
  try {
    return fstatSync(fd);
  } catch {
    return fallback;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing was written through it; a failed close loses nothing.
  }
}

/** The content of a file read ahead, with the same reports as readExactly. */
async function* readAhead(
  p: { st: Stats; data: Buffer; got: number; readError?: unknown; after: Stats },
  rel: string,
  report: FileSourceReport,
): AsyncGenerator<Buffer> {
  const tap = report.tap?.(rel);
  const size = p.st.size;
  if (p.got > 0) {
    const chunk = p.got === size ? p.data : p.data.subarray(0, p.got);
    tap?.(chunk);
    yield chunk;
  }
  const shortBy = size - p.got;
  if (p.readError !== undefined)
    report.error({
      kind: 'unreadable',
      path: rel,
      message: `reading ${rel} failed after ${p.got} bytes: ${describe(p.readError)}; the archived copy is incomplete`,
    });
  if (shortBy > 0) yield Buffer.alloc(shortBy);
  report.fileDone?.(rel, size, true);
  if (p.readError !== undefined) return;
  if (changedWhileRead(p.st, p.after, shortBy))
    report.warn({
      kind: 'changed',
      path: rel,
      message:
        `${rel} changed while it was read` +
        `${shortBy > 0 ? ` (it shrank; ${shortBy} bytes were padded with zeros)` : ''}; the archived copy may ` +
        `mix old and new content`,
    });
}

/** Header fields; `changeDetection` false leaves out ctime and inode, so the entry never matches as unchanged. */
function owner(s: Stats, changeDetection = true) {
  const base = { mode: s.mode & 0o7777, mtime: s.mtimeMs, uid: s.uid, gid: s.gid };
  return changeDetection ? { ...base, ctime: s.ctimeMs, ino: s.ino } : base;
}

function changedWhileRead(before: Stats, after: Stats, shortBy: number): boolean {
  return (
    shortBy > 0 || after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ctimeMs !== before.ctimeMs
  );
}

/** An unchanged folder whose last listing was settled and fully indexed (no name excluded, unreadable or special). */
function knownNames(folders: Map<string, PreviousFolder>): KnownNames {
  return (rel, st) => {
    const f = folders.get(rel);
    if (!f || f.entry.names !== f.names.length) return undefined;
    return st.mtimeMs === f.entry.mtime && st.ctimeMs === f.entry.ctime && st.ino === f.entry.ino ? f.names : undefined;
  };
}

function unchanged(st: Stats, prev: IndexEntry): boolean {
  return st.size === prev.size && st.mtimeMs === prev.mtime && st.ctimeMs === prev.ctime && st.ino === prev.ino;
}

async function hashOf(fh: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash.digest('hex');
}

/**
 * Yields exactly the size the file had when opened, so the tar header stays true: a file that
 * shrinks is padded with zeros, one that grows is cut, and either way the user is told.
 */
async function* readExactly(
  fh: FileHandle,
  rel: string,
  before: Stats,
  report: FileSourceReport,
  pool: BufferPool,
): AsyncGenerator<Buffer> {
  const tap = report.tap?.(rel);
  let pos = 0;
  let shortBy = 0;
  let failed = false;
  while (pos < before.size) {
    const want = Math.min(CHUNK, before.size - pos);
    const buf = pool.take();
    let got: number;
    try {
      ({ bytesRead: got } = await fh.read(buf, 0, want, pos));
    } catch (error) {
      report.error({
        kind: 'unreadable',
        path: rel,
        message: `reading ${rel} failed after ${pos} bytes: ${describe(error)}; the archived copy is incomplete`,
      });
      got = 0;
      failed = true;
    }
    if (got === 0) {
      pool.give(buf);
      shortBy = before.size - pos;
      const zeros = Buffer.alloc(shortBy);
      pos += shortBy;
      yield zeros;
      break;
    }
    // Lent: the buffer comes back for the next read once the compressor has copied it.
    const chunk = lend(got === CHUNK ? buf : buf.subarray(0, got), () => pool.give(buf));
    tap?.(chunk);
    pos += got;
    yield chunk;
  }
  report.fileDone?.(rel, before.size, true);
  const after = await fh.stat().catch(() => before);
  if (failed) return;
  if (changedWhileRead(before, after, shortBy))
    report.warn({
      kind: 'changed',
      path: rel,
      message:
        `${rel} changed while it was read` +
        `${shortBy > 0 ? ` (it shrank; ${shortBy} bytes were padded with zeros)` : ''}; the archived copy may ` +
        `mix old and new content`,
    });
}

function describe(error: unknown): string {
  const code = errnoCode(error);
  const msg = (error as Error)?.message ?? String(error);
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${msg}); run drkit as a user that can read it`;
  // The message would repeat the whole path, which is what is wrong.
  if (code === 'ENAMETOOLONG')
    return (
      'its absolute path is longer than the kernel accepts (PATH_MAX, 4,096 bytes); back up a folder further ' +
      'down, or shorten the names above it'
    );
  return msg;
}
