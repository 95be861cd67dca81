import { closeSync, fchmodSync, futimesSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { errnoCode } from '@drkit/errors';
import { fsPath } from '@drkit/repository';

/** Index mtimes are milliseconds (maybe fractional); the fs calls take seconds. */
export function seconds(mtimeMs: number): number {
  // libuv truncates to whole microseconds; adding half of one rounds instead, so 123 ms stays 123, not 122.999.
  return mtimeMs / 1000 + 5e-7;
}

/**
 * Blocking, like everything here: cheaper than a round trip. Folders come before what they
 * hold, so the parent is usually there already; only then is the recursive form, which stats
 * every level, needed.
 */
export function makeDir(dir: string): void {
  const at = fsPath(dir);
  try {
    mkdirSync(at);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST' && statSync(at, { throwIfNoEntry: false })?.isDirectory()) return;
    mkdirSync(at, { recursive: true });
  }
}

/** Writes a new small file in one go (each async call would cost more than the blocking call does). */
export function writeSmallFile(dest: string, data: Buffer, mode: number, mtime: number): void {
  const fd = openSync(fsPath(dest), 'wx', 0o600);
  try {
    for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset);
    // Explicit chmod: the mode given to open() is narrowed by the umask.
    fchmodSync(fd, mode & 0o7777);
    futimesSync(fd, seconds(mtime), seconds(mtime));
  } finally {
    closeSync(fd);
  }
}
