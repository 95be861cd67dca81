import { randomInt } from 'node:crypto';
import fs, { type Dirent } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { errnoCode, failpoint } from '@drkit/errors';
import { StateError } from './errors.js';
import { checkKey, checkPrefix } from './keys.js';
import { type KeyLock, lockKey, processAlive } from './key-lock.js';
import { checkRevision, checkValue, parseStored, type StoredDocument, unavailable } from './stored.js';
import type { StateEntry, StateStore, WriteOptions } from './store.js';

const DOC = '.json';
// Temp files carry the writer's pid, so leftovers of a killed writer can be told from live ones.
const TEMP = /^(.*)\.json\.(\d+)-[0-9a-f]+\.tmp$/;
// Temp names count up from a random start: as unique as random bytes per write (a reused pid's leftovers aside), at no
// cost.
let tempSerial = randomInt(2 ** 40);

/** One directory fsync at a time per folder; writers that arrive while one runs share the next. */
class DirSyncs {
  private readonly state = new Map<string, { running?: Promise<void>; queued?: Promise<void> }>();

  sync(dir: string): Promise<void> {
    const state = this.state.get(dir) ?? {};
    this.state.set(dir, state);
    if (state.queued) return state.queued;
    if (!state.running) return this.start(dir, state);
    // The sync running may have begun before this writer's rename: wait for the next one.
    state.queued = state.running
      .catch(() => {})
      .then(() => {
        state.queued = undefined;
        return this.start(dir, state);
      });
    return state.queued;
  }

  private start(dir: string, state: { running?: Promise<void>; queued?: Promise<void> }): Promise<void> {
    const running = fsyncDir(dir).finally(() => {
      if (state.running === running) state.running = undefined;
      if (!state.running && !state.queued) this.state.delete(dir);
    });
    state.running = running;
    return running;
  }
}

/** A temp file written and not yet fsynced, to be renamed over `file`. */
interface PendingWrite {
  fd: number;
  temp: string;
  file: string;
}

/**
 * Group commit: writes that arrive while a batch commits wait and go together in the next one, whose
 * fdatasyncs are issued at once (the file system commits them in one journal transaction), then its
 * renames, then one fsync per folder. Each write is durable when its promise resolves, as before.
 */
class GroupCommit {
  private queue: { write: PendingWrite; settle: (error?: unknown) => void }[] = [];
  private running = false;

  constructor(private readonly dirSyncs: DirSyncs) {}

  submit(write: PendingWrite): Promise<void> {
    const done = new Promise<void>((resolve, reject) =>
      this.queue.push({ write, settle: (error) => (error === undefined ? resolve() : reject(error)) }),
    );
    if (!this.running) void this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    this.running = true;
    for (let batch = this.queue.splice(0); batch.length; batch = this.queue.splice(0)) {
      const synced = await Promise.allSettled(
        batch.map(({ write }) => fdatasync(write.fd).finally(() => fs.closeSync(write.fd))),
      );
      // Every rename of the batch before any folder fsync, so each fsync covers all of them.
      const renamed: typeof batch = [];
      for (const [i, item] of batch.entries()) {
        const result = synced[i]!;
        const error = result.status === 'rejected' ? result.reason : await this.rename(item.write);
        if (error === undefined) renamed.push(item);
        else item.settle(error);
      }
      const folders = new Map<string, Promise<void>>();
      const settled = renamed.map(({ write, settle }) => {
        const dir = path.dirname(write.file);
        const folder = folders.get(dir) ?? this.dirSyncs.sync(dir);
        folders.set(dir, folder);
        return folder.then(
          () => settle(),
          (err: unknown) => settle(err ?? new Error(`fsync ${dir} failed`)),
        );
      });
      await Promise.all(settled);
    }
    this.running = false;
  }

  /** Renames a synced temp over its file; the error, if that failed. */
  private async rename(write: PendingWrite): Promise<unknown> {
    try {
      await failpoint('state.after-temp');
      fs.renameSync(write.temp, write.file);
      await failpoint('state.after-rename');
      return undefined;
    } catch (error) {
      return error ?? new Error(`rename ${write.temp} failed`);
    }
  }
}

const fsync = promisify(fs.fsync);
const fdatasync = promisify(fs.fdatasync);

async function fsyncDir(dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Yields to the event loop now and then during a long listing, so a service that embeds the store keeps answering. */
const breather = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The state store in a folder: each key is a file `<key>.json` holding `{ revision, updatedAt,
 * value }`, written to a temp file that is fsynced, renamed over it, and then the folder fsynced,
 * so a kill -9 or a power cut leaves the old or the new document. Every write takes the key's
 * lock file (see key-lock.ts), so conditional writes hold between processes on this host.
 * Reads take no lock: a rename is atomic.
 */
export class FolderStateStore implements StateStore {
  readonly location: string;
  private readonly dirSyncs = new DirSyncs();
  private readonly commits = new GroupCommit(this.dirSyncs);
  private readonly knownDirs = new Set<string>();

  constructor(readonly root: string) {
    this.location = path.resolve(root);
  }

  private file(key: string): string {
    return path.join(this.location, `${checkKey(key)}${DOC}`);
  }

  async get<T = unknown>(key: string): Promise<StateEntry<T> | undefined> {
    return this.read<T>(key, this.file(key));
  }

  private read<T>(key: string, file: string): StateEntry<T> | undefined {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw unavailable(this.location, `read ${key}`, error);
    }
    return parseStored<T>(key, text, file);
  }

  async put<T>(key: string, value: T, options: WriteOptions = {}): Promise<StateEntry<T>> {
    const file = this.file(key);
    checkValue(key, value);
    return this.locked(key, file, async () => {
      const current = this.read(key, file);
      checkRevision(key, current?.revision ?? 0, options);
      const stored: StoredDocument<T> = {
        revision: (current?.revision ?? 0) + 1,
        updatedAt: new Date().toISOString(),
        value,
      };
      await this.replace(file, `${JSON.stringify(stored)}\n`);
      return { key, ...stored };
    });
  }

  async delete(key: string, options: WriteOptions = {}): Promise<boolean> {
    const file = this.file(key);
    return this.locked(key, file, async () => {
      const current = this.read(key, file);
      checkRevision(key, current?.revision ?? 0, options);
      if (!current) return false;
      try {
        fs.unlinkSync(file);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw unavailable(this.location, `delete ${key}`, error);
      }
      await failpoint('state.after-unlink');
      await this.dirSyncs.sync(path.dirname(file)).catch((error) => {
        throw unavailable(this.location, `delete ${key}`, error);
      });
      return true;
    });
  }

  async *list<T = unknown>(prefix: string): AsyncIterable<StateEntry<T>> {
    checkPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dir = path.join(this.location, prefix.slice(0, slash + 1));
    const keys: string[] = [];
    await this.collect(dir, prefix.slice(0, slash + 1), prefix.slice(slash + 1), keys);
    keys.sort();
    for (const [i, key] of keys.entries()) {
      if (i % 256 === 255) await breather();
      // A key deleted since the folder was read is skipped.
      const entry = this.read<T>(key, path.join(this.location, `${key}${DOC}`));
      if (entry) yield entry;
    }
  }

  /** Keys under `dir` (whose key prefix is `base`) whose first segment there starts with `start`. */
  private async collect(dir: string, base: string, start: string, keys: string[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw unavailable(this.location, `list ${base}${start}`, error);
    }
    for (const entry of entries) {
      if (!entry.name.startsWith(start)) continue;
      if (entry.isDirectory()) await this.collect(path.join(dir, entry.name), `${base}${entry.name}/`, '', keys);
      else if (entry.name.endsWith(DOC)) keys.push(`${base}${entry.name.slice(0, -DOC.length)}`);
      else this.removeDeadTemp(dir, entry.name);
    }
  }

  /** A temp file whose writer is gone (killed mid-write) is garbage; removing it is best effort. */
  private removeDeadTemp(dir: string, name: string): void {
    const m = TEMP.exec(name);
    if (m && !processAlive(Number(m[2]))) fs.rmSync(path.join(dir, name), { force: true });
  }

  async close(): Promise<void> {}

  private async locked<R>(key: string, file: string, work: () => Promise<R>): Promise<R> {
    await this.ensureDir(path.dirname(file), key);
    let lock: KeyLock;
    try {
      lock = await lockKey(`${file}.lock`, key, this.location);
    } catch (error) {
      if (error instanceof StateError) throw error;
      throw unavailable(this.location, `lock ${key}`, error);
    }
    try {
      await failpoint('state.after-lock');
      return await work();
    } finally {
      await lock.release();
    }
  }

  /**
   * Writes `text` beside `file`, fsyncs it, renames it over `file`, fsyncs the folder. The fsyncs
   * and renames go through the group commit (one batch at a time): a journal commit forced by one
   * writer's fsync would otherwise stall every other writer's rename and open behind it.
   */
  private async replace(file: string, text: string): Promise<void> {
    const temp = `${file}.${process.pid}-${(tempSerial++).toString(16)}.tmp`;
    let fd: number | undefined;
    try {
      fd = fs.openSync(temp, 'wx', 0o600);
      fs.writeSync(fd, text);
    } catch (error) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(temp, { force: true });
      throw unavailable(this.location, `write ${path.relative(this.location, file)}`, error);
    }
    await this.commits.submit({ fd, temp, file }).catch((error) => {
      fs.rmSync(temp, { force: true });
      throw unavailable(this.location, `write ${path.relative(this.location, file)}`, error);
    });
  }

  /** mkdir -p, then fsync the parent of every folder it made, so a new key's folder survives a crash too. */
  private async ensureDir(dir: string, key: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    try {
      const first = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (first !== undefined) {
        for (let d = dir; ; d = path.dirname(d)) {
          await fsyncDir(path.dirname(d));
          if (d === first || path.dirname(d) === d) break;
        }
      }
    } catch (error) {
      throw unavailable(this.location, `create the folder for ${key}`, error);
    }
    this.knownDirs.add(dir);
  }
}
