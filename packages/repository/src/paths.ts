/**
 * Normalises an archive entry name to a relative path, or returns why it is unsafe:
 * absolute paths, `..` segments, NUL bytes and empty names could escape a restore target.
 * Only `/` separates segments: restores write to POSIX file systems, where a backslash (or a
 * `C:`) is an ordinary part of a file name.
 */
export function normaliseEntryPath(name: string): { path: string } | { unsafe: string } {
  if (name.includes('\0')) return { unsafe: 'contains a NUL byte' };
  if (name.startsWith('/')) return { unsafe: 'is an absolute path' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { unsafe: 'climbs out with ".."' };
  if (parts.length === 0) return { unsafe: 'is empty' };
  return { path: parts.join('/') };
}
