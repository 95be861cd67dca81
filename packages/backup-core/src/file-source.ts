import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Finding, IndexEntry, SourceItem } from '@drkit/repository';
import { errnoCode } from '@drkit/errors';
import type { PreviousFile } from './incremental.js';
import { walkTree, type WalkOptions } from './walk.js';

const CHUNK = 1 << 20;

/** Opens a file for reading; a port so tests can inject faults root cannot otherwise produce. */
export type OpenFile = (absPath: string) => Promise<FileHandle>;

export const openForBackup: OpenFile = (p) => open(p, constants.O_RDONLY | constants.O_NOFOLLOW);

export interface FileSourceReport {
  /** Something the user should know; the snapshot is still complete. */
  warn(f: Finding): void;
  /** Something was not backed up; the snapshot becomes partial. */
  error(f: Finding): void;
  /** Each regular file's bytes as they are archived (e.g. for data validation). */
  tap?(path: string): ((chunk: Buffer) => void) | undefined;
  /** Called once per regular file; `read` is false when an unchanged file was not read. */
  fileDone?(path: string, bytes: number, read: boolean): void;
}

/** How an incremental recognises unchanged files. */
export interface ChangeDetection {
  previous: Map<string, PreviousFile>;
  /** Hash every file and compare contents instead of trusting size, mtime, ctime and inode. */
  rehash?: boolean;
}

/** Turns a folder into archive entries; unreadable files are reported, never silently skipped. */
export async function* fileSourceItems(
  root: string,
  walk: WalkOptions,
  report: FileSourceReport,
  openFile: OpenFile = openForBackup,
  changes?: ChangeDetection,
): AsyncGenerator<SourceItem> {
  const problem = (path: string, error: unknown) =>
    report.error({ kind: 'unreadable', path, message: `could not read ${path}: ${describe(error)}` });
  for await (const e of walkTree(root, walk, (p) => problem(p.rel, p.error))) {
    const s = e.stats;
    if (e.kind === 'dir' && s) yield { path: e.rel, type: 'dir', ...owner(s), size: 0 };
    else if (e.kind === 'symlink' && s) {
      try {
        yield { path: e.rel, type: 'symlink', ...owner(s), size: 0, linkTarget: await readlink(e.abs) };
      } catch (error) {
        problem(e.rel, error);
      }
    } else if (e.kind === 'other') {
      report.warn({ kind: 'special-file', path: e.rel, message: `${e.rel} is a socket, FIFO or device; it was not backed up` });
    } else if (e.kind === 'file') {
      const prev = changes?.previous.get(e.rel);
      if (prev && !changes?.rehash) {
        // An unchanged file is not opened at all: its bytes stay in the holder's archive.
        const st = await lstat(e.abs).catch(() => undefined);
        if (st?.isFile() && unchanged(st, prev.entry)) {
          report.fileDone?.(e.rel, st.size, false);
          yield { path: e.rel, type: 'file', ...owner(st), size: st.size, sha256: prev.entry.sha256, heldBy: prev.holder };
          continue;
        }
      }
      let fh: FileHandle;
      let st: Stats;
      try {
        fh = await openFile(e.abs);
        st = await fh.stat();
      } catch (error) {
        // Vanished between listing and opening: a normal race on a live system, not a failure.
        if (errnoCode(error) === 'ENOENT') report.warn({ kind: 'vanished', path: e.rel, message: `${e.rel} was deleted while the backup ran` });
        else problem(e.rel, error);
        continue;
      }
      try {
        if (prev && changes?.rehash && (await hashOf(fh, st.size)) === prev.entry.sha256) {
          report.fileDone?.(e.rel, st.size, true);
          yield { path: e.rel, type: 'file', ...owner(st), size: st.size, sha256: prev.entry.sha256, heldBy: prev.holder };
          continue;
        }
        yield { path: e.rel, type: 'file', ...owner(st), size: st.size, content: () => readExactly(fh, e.rel, st, report) };
      } finally {
        await fh.close().catch(() => {});
      }
    }
  }
}

function owner(s: Stats) {
  return { mode: s.mode & 0o7777, mtime: s.mtimeMs, ctime: s.ctimeMs, ino: s.ino, uid: s.uid, gid: s.gid };
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
async function* readExactly(fh: FileHandle, rel: string, before: Stats, report: FileSourceReport): AsyncGenerator<Buffer> {
  const tap = report.tap?.(rel);
  let pos = 0;
  let shortBy = 0;
  let failed = false;
  while (pos < before.size) {
    const want = Math.min(CHUNK, before.size - pos);
    const buf = Buffer.allocUnsafe(want);
    let got: number;
    try {
      ({ bytesRead: got } = await fh.read(buf, 0, want, pos));
    } catch (error) {
      report.error({ kind: 'unreadable', path: rel, message: `reading ${rel} failed after ${pos} bytes: ${describe(error)}; the archived copy is incomplete` });
      got = 0;
      failed = true;
    }
    if (got === 0) {
      shortBy = before.size - pos;
      const zeros = Buffer.alloc(shortBy);
      pos += shortBy;
      yield zeros;
      break;
    }
    const chunk = got === want ? buf : buf.subarray(0, got);
    tap?.(chunk);
    pos += got;
    yield chunk;
  }
  report.fileDone?.(rel, before.size, true);
  const after = await fh.stat().catch(() => before);
  if (failed) return;
  if (shortBy > 0 || after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ctimeMs !== before.ctimeMs)
    report.warn({
      kind: 'changed',
      path: rel,
      message: `${rel} changed while it was read${shortBy > 0 ? ` (it shrank; ${shortBy} bytes were padded with zeros)` : ''}; the archived copy may mix old and new content`,
    });
}

function describe(error: unknown): string {
  const code = errnoCode(error);
  const msg = (error as Error)?.message ?? String(error);
  return code === 'EACCES' || code === 'EPERM' ? `permission denied (${msg}); run drkit as a user that can read it` : msg;
}
