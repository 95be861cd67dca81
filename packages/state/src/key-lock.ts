import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from '@drkit/errors';
import { StateError, StateErrorCode } from './errors.js';

/** A writer holds a key's lock for one read, write, fsync and rename: milliseconds. Longer means stuck or gone. */
const STALE_AFTER_MS = 60_000;
/**
 * An unreadable lock (its writer died between creating and filling it) or a breaker's mark older than this is garbage.
 */
const HALF_WRITTEN_AFTER_MS = 5_000;
const WAIT_MS = 10_000;

export interface KeyLock {
  release(): Promise<void>;
}

/**
 * This process's writer file in a store folder, `writer.<pid>-<hex>.lock` holding `<pid> <hex>`:
 * every lock it takes there is a hard link to it. A link costs ~15 µs of system CPU on ext4
 * where creating a file (and later freeing its inode) cost ~170 µs, and every put takes a lock.
 */
const WRITER = /^writer\.(\d+)-[0-9a-f]+\.lock$/;
const writers = new Map<string, string>();
let exitHooked = false;
/** When each writer file's mtime was last set (ms). */
const touched = new Map<string, number>();

/** Creates this process's writer file in `root`, first removing those of processes that are gone. */
function newWriter(root: string): string {
  for (const name of fs.readdirSync(root)) {
    const m = WRITER.exec(name);
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(root, name), { force: true });
  }
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const file = path.join(root, `writer.${id}.lock`);
  fs.writeFileSync(file, id.replace('-', ' '), { flag: 'wx', mode: 0o600 });
  if (!exitHooked)
    process.once('exit', () => {
      for (const f of writers.values()) fs.rmSync(f, { force: true });
    });
  exitHooked = true;
  writers.set(root, file);
  return file;
}

// Writers in this process queue here first, so they do not poll each other's lock file.
const local = new Map<string, Promise<unknown>>();

/** True if a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the lock `lockPath`, a hard link to this process's writer file in `root` (link() fails if
 * the name exists, so a lock file of an older drkit, made with O_EXCL, excludes it too, and it
 * excludes theirs; both hold `pid token`). A lock whose pid is gone, or that is older than a
 * minute (a link's age is the writer file's mtime, touched as locks are taken), is stale: it is removed under a second
 * lock file
 * (`….break.lock`), after checking it is still the same stale lock, so two processes that find
 * it at once cannot remove a lock a third has just taken.
 */
export async function lockKey(lockPath: string, key: string, root: string): Promise<KeyLock> {
  const before = local.get(lockPath) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const chained = before.then(() => mine);
  local.set(lockPath, chained);
  await before;
  const releaseLocal = () => {
    done();
    if (local.get(lockPath) === chained) local.delete(lockPath);
  };
  try {
    await acquire(lockPath, key, root);
    return {
      release: async () => {
        try {
          fs.unlinkSync(lockPath);
        } catch (error) {
          if (errnoCode(error) !== 'ENOENT') throw error;
        } finally {
          releaseLocal();
        }
      },
    };
  } catch (error) {
    releaseLocal();
    throw error;
  }
}

/**
 * Sets the writer file's mtime to now, at most once a second: a lock then never looks more than a second older than it
 * is.
 */
function touch(writer: string): void {
  const now = Date.now();
  if (now - (touched.get(writer) ?? 0) < 1_000) return;
  fs.utimesSync(writer, now / 1000, now / 1000);
  touched.set(writer, now);
}

/** Roots whose file system refused a hard link (some network and FUSE ones): locks there are files made with O_EXCL. */
const linkless = new Set<string>();
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS']);

/** Takes the lock if its name is free (a link to the writer file, or a file where links fail); false if it is taken. */
function tryLock(lockPath: string, root: string): boolean {
  for (let fresh = false; ; fresh = true) {
    try {
      if (linkless.has(root)) {
        fs.writeFileSync(lockPath, `${process.pid} ${randomBytes(6).toString('hex')}`, { flag: 'wx', mode: 0o600 });
        return true;
      }
      const writer = writers.get(root) ?? newWriter(root);
      // Touched before the link, so no other process ever sees this lock with an idle writer's old mtime (stale).
      touch(writer);
      fs.linkSync(writer, lockPath);
      return true;
    } catch (error) {
      const code = errnoCode(error) ?? '';
      if (code === 'EEXIST') return false;
      if (NO_LINKS.has(code) && !linkless.has(root)) linkless.add(root);
      // The writer file was removed (the folder too, and made again), or has the most links it can: a new one.
      else if ((code === 'ENOENT' || code === 'EMLINK') && !fresh) writers.delete(root);
      else throw error;
    }
  }
}

async function acquire(lockPath: string, key: string, root: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    if (tryLock(lockPath, root)) return;
    const holder = readLock(lockPath);
    if (holder && isStale(holder)) breakStale(lockPath, holder);
    else if (Date.now() > deadline)
      throw new StateError(
        StateErrorCode.UNAVAILABLE,
        `State key "${key}" stayed locked for ${WAIT_MS / 1000} s (${lockPath}, held by ` +
          `pid ${holder?.pid ?? 'unknown'}).`,
        {
          hint: 'Another drkit process is writing it and did not finish. If no drkit runs, remove that lock file.',
          details: { key, lockPath, pid: holder?.pid },
        },
      );
    else await sleep(Math.min(20, 1 + attempt) * (0.5 + Math.random()));
  }
}

interface Holder {
  text: string;
  pid: number | undefined;
  ageMs: number;
  ino: number;
}

function readLock(lockPath: string): Holder | undefined {
  try {
    const text = fs.readFileSync(lockPath, 'utf8');
    const stat = fs.statSync(lockPath);
    const pid = /^(\d+) \S+$/.exec(text)?.[1];
    return { text, pid: pid === undefined ? undefined : Number(pid), ageMs: Date.now() - stat.mtimeMs, ino: stat.ino };
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function isStale(holder: Holder): boolean {
  if (holder.pid === undefined) return holder.ageMs > HALF_WRITTEN_AFTER_MS;
  return holder.ageMs > STALE_AFTER_MS || (holder.pid !== process.pid && !processAlive(holder.pid));
}

function breakStale(lockPath: string, stale: Holder): void {
  const breaker = lockPath.replace(/\.lock$/, '.break.lock');
  try {
    fs.writeFileSync(breaker, `${process.pid}`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    // Another process is breaking it; its mark outlives it only if it was killed right then.
    const mark = fs.statSync(breaker, { throwIfNoEntry: false });
    if (mark && Date.now() - mark.mtimeMs > HALF_WRITTEN_AFTER_MS) fs.rmSync(breaker, { force: true });
    return;
  }
  try {
    const now = readLock(lockPath);
    if (now && now.ino === stale.ino && now.text === stale.text) fs.rmSync(lockPath, { force: true });
  } finally {
    fs.rmSync(breaker, { force: true });
  }
}
