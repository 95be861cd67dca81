import { createHash } from 'node:crypto';
import { lutimes, open, symlink } from 'node:fs/promises';
import { fsPath, type IndexEntry } from '@drkit/repository';
import { parentOf } from './paths.js';
import { makeDir, seconds } from './small-writes.js';
import { FirstFailure, Signal } from './waits.js';
import { WriteThread } from './write-thread.js';

export interface ContentDigest {
  size: number;
  sha256: string;
}

/** Hashes a content stream chunk by chunk, handing each chunk to `sink` (memory stays flat). */
export async function digestContent(
  content: AsyncIterable<Buffer>,
  sink?: (chunk: Buffer) => Promise<void>,
): Promise<ContentDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of content) {
    hash.update(chunk);
    size += chunk.length;
    if (sink) await sink(chunk);
  }
  return { size, sha256: hash.digest('hex') };
}

/** Files this small are gathered and written whole by the writer thread (see WriteThread). */
const SMALL_FILE = 256 * 1024;
/** What FileWriter does with a new large file. */
export interface NewFile {
  write(buffer: Buffer, offset: number): Promise<{ bytesWritten: number }>;
  chmod(mode: number): Promise<void>;
  utimes(atime: number, mtime: number): Promise<void>;
  close(): Promise<void>;
}
export type CreateFile = (dest: string) => Promise<NewFile>;

/** Bytes of large files queued for the thread pool and not yet written: bounds what write-behind holds in memory. */
const WRITE_BEHIND = 8 * 1024 * 1024;

/**
 * Makes a restore's folders, files and symlinks (never over existing ones), with the index's
 * mode and mtime, while the main thread goes on unpacking and hashing. Folders and small files
 * go to a writer thread in batches (WriteThread). A large file is written behind: its chunks
 * queue on the thread pool instead of each write being waited for. A failure stops the next
 * entry; `finish` waits for everything and reports the first failure.
 */
export class FileWriter {
  /** `create` opens a new file for writing; a port so tests can inject write failures (a full disk). */
  constructor(private readonly create: CreateFile = (dest) => open(fsPath(dest), 'wx', 0o600)) {}

  private readonly thread = new WriteThread();
  private queued = 0;
  private readonly failure = new FirstFailure();
  private readonly written = new Signal();
  private readonly pending = new Set<Promise<void>>();

  /** Makes a folder, after the folders given before it. */
  dir(path: string): Promise<void> {
    this.check();
    return this.thread.dir(path);
  }

  /** Writes `content` to `dest`; returns the digest of what was written (once queued). */
  async write(dest: string, content: AsyncIterable<Buffer>, entry: IndexEntry): Promise<ContentDigest> {
    this.check();
    if (entry.size !== undefined && entry.size <= SMALL_FILE) {
      const chunks: Buffer[] = [];
      const digest = await digestContent(content, async (chunk) => void chunks.push(chunk));
      await this.thread.file(dest, chunks, digest.size, entry.mode, entry.mtime);
      return digest;
    }
    makeDir(parentOf(dest)); // here, not behind: the open below needs it
    const fh = await this.create(dest);
    let written: Promise<void> = Promise.resolve();
    try {
      const digest = await digestContent(content, async (chunk) => {
        await this.room(chunk.length);
        written = this.enqueue(written, fh, chunk);
      });
      // Explicit chmod: the mode given to open() is narrowed by the umask.
      this.track(
        written
          .then(() => fh.chmod(entry.mode & 0o7777))
          .then(() => fh.utimes(seconds(entry.mtime), seconds(entry.mtime)))
          .finally(() => fh.close()),
      );
      return digest;
    } catch (error) {
      await written.catch(() => {});
      await fh.close().catch(() => {});
      throw error;
    }
  }

  /** Makes a symlink once every entry before it exists, so nothing queued can be made through it. */
  async symlink(dest: string, entry: IndexEntry): Promise<void> {
    this.check();
    await this.thread.drain();
    makeDir(parentOf(dest));
    await symlink(fsPath(entry.linkTarget ?? ''), fsPath(dest));
    await lutimes(fsPath(dest), seconds(entry.mtime), seconds(entry.mtime));
  }

  /** Waits for every queued write; throws the first that failed. */
  async finish(): Promise<void> {
    await this.thread.finish();
    await this.largeFilesWritten();
    this.check();
  }

  /**
   * Stops the writer thread and waits for the queued large-file
   * writes, failed or not (before what they wrote is removed).
   */
  async settle(): Promise<void> {
    await this.thread.stop();
    await this.largeFilesWritten();
  }

  private async largeFilesWritten(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private check(): void {
    this.failure.check();
  }

  private async room(bytes: number): Promise<void> {
    while (this.queued > 0 && this.queued + bytes > WRITE_BEHIND) {
      await this.written.wait();
      this.check();
    }
    this.check();
  }

  private enqueue(after: Promise<void>, fh: NewFile, chunk: Buffer): Promise<void> {
    this.queued += chunk.length;
    const done = after.then(() => writeAll(fh, chunk));
    const release = () => {
      this.queued -= chunk.length;
      this.written.notify();
    };
    done.then(release, (error) => {
      this.failure.record(error);
      release();
    });
    return done;
  }

  private track(work: Promise<void>): void {
    const settled = work.catch((error) => this.failure.record(error)).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }
}

async function writeAll(fh: NewFile, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += (await fh.write(bytes, offset)).bytesWritten;
}
