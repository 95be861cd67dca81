import { randomBytes } from 'node:crypto';

export const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** `20251203T120000Z-ab12cd`: sorts by time as a string, unique by its random tail. */
export function newSnapshotId(time: Date): string {
  const stamp = time.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
