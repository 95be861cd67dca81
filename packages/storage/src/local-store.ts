import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { errnoCode, failpoint } from '@drkit/errors';
import { assertValidKey, type BlobBody, type BlobInfo, type BlobStore, type TempFile } from './blob-store.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { copiedOut } from './lent.js';
import { parseProcessTag, processTag } from './process-tag.js';

// Temporary files live in their own folder so that a crash never leaves a half-written blob under a real key.
const TMP_DIR = '.tmp';
// A temp file's name says which process writes it
// (`<pid>@<host>-<random>.part`), so a cleanup can tell one whose writer is gone.
const TEMP_NAME = /^(\d+@.+)-[0-9a-f]{16}\.part$/;

/** A BlobStore in a local folder: temp file, fsync, rename, fsync the folder. */
export class LocalStore implements BlobStore {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = this.root;
  }

  private pathOf(key: string): string {
    try {
      assertValidKey(key);
    } catch (cause) {
      throw new StorageError(StorageErrorCode.BAD_KEY, `Invalid blob key ${JSON.stringify(key)}.`, { cause });
    }
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: BlobBody): Promise<BlobInfo> {
    const dest = this.pathOf(key);
    const tmpDir = path.join(this.root, TMP_DIR);
    const tmp = path.join(tmpDir, `${processTag()}-${randomBytes(8).toString('hex')}.part`);
    let fh: FileHandle | undefined;
    let size = 0;
    try {
      await mkdir(tmpDir, { recursive: true });
      fh = await open(tmp, 'wx', 0o644);
      size = await writeBody(fh, body);
      await fh.sync();
      await fh.close();
      fh = undefined;
      await renameIntoPlace(tmp, dest);
      await fsyncDir(path.dirname(dest));
      return { key, size };
    } catch (cause) {
      await fh?.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw ioError(`write ${key}`, this.root, cause);
    }
  }

  async get(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    const fh = await open(file, 'r').catch((cause) => {
      if (errnoCode(cause) === 'ENOENT') throw notFound(key, this.root, cause);
      throw ioError(`read ${key}`, this.root, cause);
    });
    const stream = createReadStream('', { fd: fh, highWaterMark: 1 << 20 });
    // A failed read (EIO, EISDIR) is the store's error, not damage in what was read: it is emitted as STORAGE_IO.
    // Errors a consumer destroys the stream with (no syscall) pass through as they are.
    const destroy = stream._destroy.bind(stream);
    stream._destroy = (error, done) =>
      destroy(error, (e) =>
        done(
          typeof (e as NodeJS.ErrnoException | null)?.syscall === 'string' ? ioError(`read ${key}`, this.root, e) : e,
        ),
      );
    return stream;
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT' || errnoCode(cause) === 'ENOTDIR') return undefined;
      throw ioError(`stat ${key}`, this.root, cause);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // Walk only the folder that can hold the prefix, then filter by the full key.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    yield* this.walk(dirPart, prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<BlobInfo> {
    const dir = dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT' || errnoCode(cause) === 'ENOTDIR') return;
      throw ioError(`list ${prefix}`, this.root, cause);
    }
    for (const e of entries) {
      if (!dirKey && e.name === TMP_DIR) continue;
      const key = dirKey ? `${dirKey}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(key, prefix);
      } else if (e.isFile() && key.startsWith(prefix)) {
        const info = await this.stat(key);
        if (info) yield info;
      }
    }
  }

  async cleanupTemp(isGarbage: (file: TempFile) => boolean): Promise<TempFile[]> {
    const tmpDir = path.join(this.root, TMP_DIR);
    const names = await readdir(tmpDir).catch((cause) => {
      if (errnoCode(cause) === 'ENOENT') return [];
      throw ioError('list temp files', this.root, cause);
    });
    const removed: TempFile[] = [];
    for (const name of names.filter((n) => n.endsWith('.part'))) {
      const file = path.join(tmpDir, name);
      // One renamed into place meanwhile is gone.
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      const tag = TEMP_NAME.exec(name)?.[1];
      const owner = tag ? parseProcessTag(tag) : undefined;
      const temp: TempFile = { name, size: st.size, mtimeMs: st.mtimeMs, ...(owner ? { owner } : {}) };
      if (!isGarbage(temp)) continue;
      await rm(file, { force: true }).catch((cause) => {
        throw ioError(`delete temp file ${name}`, this.root, cause);
      });
      removed.push(temp);
    }
    return removed;
  }

  async removeEmptyFolders(prefix: string): Promise<string[]> {
    const removed: string[] = [];
    const dirKey = prefix.replace(/\/+$/, '');
    const dir = path.join(this.root, ...dirKey.split('/'));
    const entries = await readdir(dir, { withFileTypes: true }).catch((cause) => {
      if (errnoCode(cause) === 'ENOENT' || errnoCode(cause) === 'ENOTDIR') return [];
      throw ioError(`list ${prefix}`, this.root, cause);
    });
    // rmdir refuses a folder that is not empty, and a put that finds its folder gone makes it again.
    for (const e of entries)
      if (
        e.isDirectory() &&
        (await rmdir(path.join(dir, e.name)).then(
          () => true,
          () => false,
        ))
      )
        removed.push(`${dirKey}/${e.name}/`);
    return removed;
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    await rm(file, { force: true }).catch((cause) => {
      throw ioError(`delete ${key}`, this.root, cause);
    });
    await failpoint('store.before-remove-folder');
    // Folders exist only for the keys in them: a pruned snapshot leaves no empty folder behind.
    for (let dir = path.dirname(file); dir !== this.root && dir.startsWith(this.root); dir = path.dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
  }
}

const RENAME_ATTEMPTS = 20;

/**
 * Concurrent deletes remove a folder they leave empty, at any moment: between mkdir and rename, or inside mkdir
 * itself (it finds the folder, then cannot stat it: ENOENT). Each such ENOENT means another writer made progress,
 * so trying again is safe; parallel readers' lock files in `locks/` hit it often.
 */
async function renameIntoPlace(tmp: string, dest: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(path.dirname(dest), { recursive: true });
      return await rename(tmp, dest);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= RENAME_ATTEMPTS) throw err;
    }
  }
}

/**
 * Writes the chunks waiting at once in one call: a stored block arrives as views of its buffer
 * between 3-byte frame headers, and a write each would be a thread-pool round trip each.
 */
const SINK_BUFFER = 1 << 20;

/** Writes a body to the file, returning its size; each lent chunk is handed back once written. */
async function writeBody(fh: FileHandle, body: BlobBody): Promise<number> {
  if (body instanceof Uint8Array) {
    await writeAll(fh, [body]);
    return body.byteLength;
  }
  let size = 0;
  const put = (chunks: Buffer[], done: (err?: Error | null) => void) =>
    writeAll(fh, chunks).then(() => {
      for (const c of chunks) {
        size += c.byteLength;
        copiedOut(c);
      }
      done();
    }, done);
  // A sink, not `for await`: a Readable's iterator concatenates whatever it has buffered into a fresh buffer.
  const sink = new Writable({
    highWaterMark: SINK_BUFFER,
    write: (chunk: Buffer, _enc, done) => put([chunk], done),
    writev: (queued, done) =>
      put(
        queued.map((q) => q.chunk as Buffer),
        done,
      ),
  });
  await pipeline(body, sink);
  return size;
}

async function writeAll(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  const left = chunks.filter((c) => c.byteLength > 0);
  while (left.length > 0) {
    let { bytesWritten } = left.length === 1 ? await fh.write(left[0]!) : await fh.writev(left);
    // A short write: skip what went out, resume inside the chunk it stopped in.
    while (left.length > 0 && bytesWritten >= left[0]!.byteLength) bytesWritten -= left.shift()!.byteLength;
    if (bytesWritten > 0) left[0] = left[0]!.subarray(bytesWritten);
  }
}

// Without this, a power loss after rename can lose the directory entry.
async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function notFound(key: string, root: string, cause?: unknown): StorageError {
  return new StorageError(StorageErrorCode.NOT_FOUND, `${key} does not exist in ${root}.`, {
    cause,
    hint: 'Check the repository path, or run verify to see what is missing.',
    details: { key },
  });
}

function ioError(what: string, root: string, cause: unknown): StorageError {
  if (cause instanceof StorageError) return cause;
  const code = errnoCode(cause);
  const hint =
    code === 'ENOSPC'
      ? 'The disk is full: free space or point the repository elsewhere. Nothing was committed.'
      : code === 'EACCES' || code === 'EPERM'
        ? `Check that this user may read and write ${root}.`
        : 'Check the disk and the repository folder, then try again.';
  return new StorageError(StorageErrorCode.IO, `Could not ${what} in ${root}: ${(cause as Error)?.message ?? cause}.`, {
    cause,
    hint,
  });
}
