import { describeDamagedLock, describeLockWait, describeStaleLock, type LockInfo } from '@drkit/repository';
import { warn } from './output.js';

/** What a command says when taking its lock removed someone else's stale or damaged lock, or waits for another's. */
export const lockNotes = {
  onStaleLock: (lock: LockInfo, why: string) => warn(`note: ${describeStaleLock(lock, why)}`),
  onDamagedLock: (key: string, why: string) => warn(`note: ${describeDamagedLock(key, why)}`),
  onLockWait: (holder: LockInfo, waitMs: number) => warn(`note: ${describeLockWait(holder, waitMs)}`),
};
