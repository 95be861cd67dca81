import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, futimesSync, openSync, writeSync } from 'node:fs';
import { type FileHandle, lutimes, open, symlink } from 'node:fs/promises';
import type { IndexEntry } from '@drkit/repository';

export interface ContentDigest {
  size: number;
  sha256: string;
}

/** Index mtimes are milliseconds (maybe fractional); the fs calls take seconds. */
export function seconds(mtimeMs: number): number {
  // libuv truncates to whole microseconds; adding half of one rounds instead, so 123 ms stays 123, not 122.999.
  return mtimeMs / 1000 + 5e-7;
}

/** Hashes a content stream chunk by chunk, handing each chunk to `sink` (memory stays flat). */
export async function digestContent(content: AsyncIterable<Buffer>, sink?: (chunk: Buffer) => Promise<void>): Promise<ContentDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of content) {
    hash.update(chunk);
    size += chunk.length;
    if (sink) await sink(chunk);
  }
  return { size, sha256: hash.digest('hex') };
}

/** Files this small are gathered and written with blocking calls (see writeSmallFile). */
const SMALL_FILE = 256 * 1024;

/** Writes a new file (never an existing one) with the index's mode and mtime; returns the digest of what was written. */
export async function writeFileEntry(dest: string, content: AsyncIterable<Buffer>, entry: IndexEntry): Promise<ContentDigest> {
  if (entry.size !== undefined && entry.size <= SMALL_FILE) {
    const chunks: Buffer[] = [];
    const digest = await digestContent(content, async (chunk) => void chunks.push(chunk));
    writeSmallFile(dest, chunks, entry);
    return digest;
  }
  const fh = await open(dest, 'wx', 0o600);
  try {
    const digest = await digestContent(content, (chunk) => writeAll(fh, chunk));
    // Explicit chmod: the mode given to open() is narrowed by the umask.
    await fh.chmod(entry.mode & 0o7777);
    await fh.utimes(seconds(entry.mtime), seconds(entry.mtime));
    return digest;
  } finally {
    await fh.close();
  }
}

/**
 * On a tree of many small files, each async call (open, write, chmod, utimes, close) costs the
 * main thread more than the blocking call itself does, so small files are written in one go.
 */
function writeSmallFile(dest: string, chunks: Buffer[], entry: IndexEntry): void {
  const fd = openSync(dest, 'wx', 0o600);
  try {
    for (const chunk of chunks) for (let offset = 0; offset < chunk.length; ) offset += writeSync(fd, chunk, offset);
    // Explicit chmod: the mode given to open() is narrowed by the umask.
    fchmodSync(fd, entry.mode & 0o7777);
    futimesSync(fd, seconds(entry.mtime), seconds(entry.mtime));
  } finally {
    closeSync(fd);
  }
}

export async function writeSymlinkEntry(dest: string, entry: IndexEntry): Promise<void> {
  await symlink(entry.linkTarget ?? '', dest);
  await lutimes(dest, seconds(entry.mtime), seconds(entry.mtime));
}

async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += (await fh.write(bytes, offset)).bytesWritten;
}
