import { entryPathProblem } from './validate.js';

/**
 * Normalises an archive entry name to a relative path (tar writes `./a`, `a/` and `a//b`), or
 * returns why it cannot be one: names that could escape a restore target (absolute, `..`, NUL,
 * empty; `escapes`) or that no file system holds (too long). Only `/` separates segments:
 * restores write to POSIX file systems, where a backslash (or a `C:`) is an ordinary character.
 */
export function normaliseEntryPath(name: string): { path: string } | { unsafe: string; escapes: boolean } {
  if (name.includes('\0')) return { unsafe: 'contains a NUL byte', escapes: true };
  if (name.startsWith('/')) return { unsafe: 'is an absolute path', escapes: true };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return { unsafe: 'is empty', escapes: true };
  const path = parts.join('/');
  const problem = entryPathProblem(path);
  return problem ? { unsafe: problem.why, escapes: problem.escapes } : { path };
}
