import { randomBytes } from 'node:crypto';

export const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** `20251203T120000Z-ab12cd`: sorts by time as a string, unique by its random tail. */
export function newSnapshotId(time: Date): string {
  const stamp = time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The time a snapshot id was made at (whole seconds), or undefined when `id` is not one. */
export function snapshotIdTime(id: string): Date | undefined {
  if (!SNAPSHOT_ID.test(id)) return undefined;
  return new Date(id.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-.*$/, '$1-$2-$3T$4:$5:$6Z'));
}
