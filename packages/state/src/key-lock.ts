import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { errnoCode } from '@drkit/errors';
import { StateError, StateErrorCode } from './errors.js';

/** A writer holds a key's lock for one read, write, fsync and rename: milliseconds. Longer means stuck or gone. */
const STALE_AFTER_MS = 60_000;
/** An unreadable lock (its writer died between creating and filling it) or a breaker's mark older than this is garbage. */
const HALF_WRITTEN_AFTER_MS = 5_000;
const WAIT_MS = 10_000;

export interface KeyLock {
  release(): Promise<void>;
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
 * Takes the lock file `lockPath` (created with O_EXCL, holding `pid token`). A lock whose pid is
 * gone, or that is older than a minute, is stale: it is removed under a second lock file
 * (`….break.lock`), after checking it is still the same stale lock, so two processes that find
 * it at once cannot remove a lock a third has just taken.
 */
export async function lockKey(lockPath: string, key: string): Promise<KeyLock> {
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
    const token = `${process.pid} ${randomUUID()}`;
    await acquire(lockPath, token, key);
    return {
      release: async () => {
        try {
          fs.rmSync(lockPath, { force: true });
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

async function acquire(lockPath: string, token: string, key: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lockPath, token, { flag: 'wx', mode: 0o600 });
      return;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const holder = readLock(lockPath);
    if (holder && isStale(holder)) breakStale(lockPath, holder);
    else if (Date.now() > deadline)
      throw new StateError(
        StateErrorCode.UNAVAILABLE,
        `State key "${key}" stayed locked for ${WAIT_MS / 1000} s (${lockPath}, held by pid ${holder?.pid ?? 'unknown'}).`,
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
