import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ownerGone } from '@drkit/repository';
import { parseProcessTag, processTag } from '@drkit/storage';

const PREFIX = '.drkit-restore-';
// `.drkit-restore-<snapshot>-<pid>@<host>-XXXXXX`: the name says which process stages there.
const OWNED = /^\.drkit-restore-.+-(\d+@.+)-[A-Za-z0-9]{6}$/;

export interface Staging {
  root: string;
  /** Mirrors the target's layout: entries are extracted here first. */
  tree: string;
  /** Where a target path goes when an entry of another type (folder vs not) replaces it. */
  trash: string;
  remove(): Promise<void>;
}

/** A private folder beside the target, so that moving into place is a rename on one file system. */
export async function createStaging(target: string, snapshotId: string): Promise<Staging> {
  const parent = path.dirname(target);
  await mkdir(parent, { recursive: true });
  const root = await mkdtemp(path.join(parent, `${PREFIX}${snapshotId}-${processTag()}-`));
  const staging: Staging = {
    root,
    tree: path.join(root, 'tree'),
    trash: path.join(root, 'trash'),
    remove: () => removeTree(root),
  };
  await mkdir(staging.tree);
  await mkdir(staging.trash);
  return staging;
}

/**
 * Removes the staging folders beside `target` whose restore was killed (a process of this host
 * that no longer runs): what they hold comes back from the snapshot. Returns their names.
 */
export async function removeAbandonedStaging(target: string): Promise<Array<{ name: string; pid: number }>> {
  const parent = path.dirname(target);
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: Array<{ name: string; pid: number }> = [];
  for (const name of names) {
    const tag = name.startsWith(PREFIX) ? OWNED.exec(name)?.[1] : undefined;
    const owner = tag ? parseProcessTag(tag) : undefined;
    if (!owner || !ownerGone(owner)) continue;
    await removeTree(path.join(parent, name));
    removed.push({ name, pid: owner.pid });
  }
  return removed;
}

/** rm -rf that also copes with read-only folders (e.g. a replaced 0500 folder moved into the trash). */
async function removeTree(root: string): Promise<void> {
  try {
    await rm(root, { recursive: true, force: true });
  } catch {
    await openUp(Buffer.from(root));
    await rm(root, { recursive: true, force: true });
  }
}

/** By bytes: a name that is not UTF-8 would not be found again through a decoded string. */
async function openUp(dir: Buffer): Promise<void> {
  await chmod(dir, 0o700).catch(() => {});
  const entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await openUp(Buffer.concat([dir, SLASH, e.name]));
}

const SLASH = Buffer.from('/');
