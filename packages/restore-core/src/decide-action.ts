import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { decodeName, fsPath, type IndexEntry } from '@drkit/repository';
import { asRestoreError } from './errors.js';
import type { OverwritePolicy, PlanAction } from './plan-model.js';
import type { ExistingKind } from './target-state.js';

export type Decision = { action: PlanAction } | { conflict: string };

/** What to do with one selected entry, given what already sits at its place in the target. */
export async function decideAction(
  entry: IndexEntry,
  existing: { kind: 'missing' } | { kind: ExistingKind; stats: Stats },
  absPath: string,
  policy: OverwritePolicy | undefined,
): Promise<Decision> {
  if (existing.kind === 'missing') return { action: 'create' };
  if (existing.kind !== entry.type) {
    if (policy === 'always') return { action: 'replace' };
    return { conflict: `${absPath} is a ${existing.kind === 'dir' ? 'folder' : existing.kind} where the snapshot has a ${entry.type === 'dir' ? 'folder' : entry.type}` };
  }
  if (policy === 'always') return { action: 'replace' };
  if (policy === 'if-changed') return { action: (await isUnchanged(entry, existing.stats, absPath)) ? 'skip-unchanged' : 'replace' };
  return { action: 'skip-existing' };
}

// Files compare by content (size first, then sha256); a folder's "content" is its mode and mtime.
async function isUnchanged(entry: IndexEntry, stats: Stats, absPath: string): Promise<boolean> {
  if (entry.type === 'symlink') return decodeName(await readlink(fsPath(absPath), 'buffer')) === entry.linkTarget;
  if (entry.type === 'dir') return (stats.mode & 0o7777) === (entry.mode & 0o7777) && Math.abs(stats.mtimeMs - entry.mtime) < 1;
  return stats.size === entry.size && (await sha256OfFile(absPath)) === entry.sha256;
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(fsPath(file))) hash.update(chunk as Buffer);
  } catch (cause) {
    throw asRestoreError(cause, `read ${file} to compare it with the snapshot`);
  }
  return hash.digest('hex');
}
