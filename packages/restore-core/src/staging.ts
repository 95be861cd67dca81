import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

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
  const root = await mkdtemp(path.join(parent, `.drkit-restore-${snapshotId}-`));
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
