import os from 'node:os';
import path from 'node:path';

/**
 * `$XDG_CACHE_HOME/drkit`, else `~/.cache/drkit` (where restic
 * keeps its cache too): this host's file lists and trust marks.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'drkit');
}
