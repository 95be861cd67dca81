import picomatch from 'picomatch';

/**
 * The one way drkit matches entry paths against globs (include/exclude, JSONL files, ls, restore
 * --include). Dotfiles match like any name, and `.` also matches newlines and carriage returns
 * (the `s` flag): without it `**` skipped every name holding one.
 */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  return picomatch([...patterns], { dot: true, flags: 's' });
}
