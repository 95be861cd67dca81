import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { decodeName, fsPath, type IndexEntry } from '@drkit/repository';
import { asRestoreError } from './errors.js';
import type { OverwritePolicy, PlanAction } from './plan-model.js';
import type { ExistingKind } from './target-state.js';

export type Decision = { action: PlanAction; reason?: string } | { conflict: string };

/** What the snapshot says about an entry; a folder no archive holds may know no mode and mtime. */
export type Wanted = Pick<IndexEntry, 'type' | 'size' | 'sha256' | 'linkTarget'> & { mode?: number; mtime?: number };

/** What to do with one selected entry, given what already sits at its place in the target. */
export async function decideAction(
  entry: Wanted,
  existing: { kind: 'missing' } | { kind: ExistingKind; stats: Stats },
  absPath: string,
  policy: OverwritePolicy | undefined,
): Promise<Decision> {
  if (existing.kind === 'missing') return { action: 'create' };
  if (existing.kind !== entry.type) {
    if (policy === 'always') return { action: 'replace' };
    return {
      conflict:
        `${absPath} is a ${existing.kind === 'dir' ? 'folder' : existing.kind} where the snapshot has ` +
        `a ${entry.type === 'dir' ? 'folder' : entry.type}`,
    };
  }
  // A folder the snapshot knows no mode and mtime for has nothing to apply.
  if (entry.mtime === undefined || (policy !== 'always' && policy !== 'if-changed')) return { action: 'skip-existing' };
  if (policy === 'always') return { action: 'replace' };
  const changed = await differences(entry, existing.stats, absPath);
  if (changed.length > 0) return { action: 'replace', reason: changed.join(', ') };
  // Within a millisecond: restores set times to the microsecond, the index keeps the file system's.
  if (Math.abs(existing.stats.mtimeMs - entry.mtime) >= 1)
    return { action: 'set-mtime', reason: `mtime ${isoTime(existing.stats.mtimeMs)} → ${isoTime(entry.mtime)}` };
  return { action: 'skip-unchanged' };
}

/**
 * How an existing entry of the same type differs from the snapshot's, cheapest checks first:
 * mode (permission bits; a symlink has none of its own), size, link target, and only when those
 * agree the content's sha256.
 */
async function differences(entry: Wanted, stats: Stats, absPath: string): Promise<string[]> {
  if (entry.type === 'symlink') {
    const now = decodeName(await readlink(fsPath(absPath), 'buffer'));
    return now === entry.linkTarget ? [] : [`link target ${JSON.stringify(now)} → ${JSON.stringify(entry.linkTarget)}`];
  }
  const out: string[] = [];
  if (entry.mode !== undefined && (stats.mode & 0o7777) !== (entry.mode & 0o7777))
    out.push(`mode ${octal(stats.mode)} → ${octal(entry.mode)}`);
  if (entry.type !== 'file') return out;
  if (stats.size !== entry.size) out.push(`size ${stats.size} → ${entry.size} bytes`);
  else if (out.length === 0 && (await sha256OfFile(absPath)) !== entry.sha256) out.push('content differs');
  return out;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');
const isoTime = (ms: number) => new Date(ms).toISOString();

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(fsPath(file))) hash.update(chunk as Buffer);
  } catch (cause) {
    throw asRestoreError(cause, `read ${file} to compare it with the snapshot`);
  }
  return hash.digest('hex');
}
