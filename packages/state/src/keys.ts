import { StateError, StateErrorCode } from './errors.js';

/**
 * `/`-separated segments of letters, digits, `.`, `_`, `-` (no `.` or `..` segment): safe as a
 * file path and a Redis key. A segment may not end in `.json`, `.tmp` or `.lock`: the folder store
 * names a key's file `<segment>.json` beside its temp and lock files, so a key and a folder of
 * keys can share a name (`a` and `a/b`) and never collide with those files.
 */
const SEGMENT = /^(?!\.{1,2}$)(?!.*\.(json|tmp|lock)$)[A-Za-z0-9._-]{1,128}$/;
const MAX_KEY = 512;

/** A key's segments when it is in the grammar, else undefined. */
export function keySegments(key: string): string[] | undefined {
  if (key.length === 0 || key.length > MAX_KEY) return undefined;
  const parts = key.split('/');
  return parts.every((p) => SEGMENT.test(p)) ? parts : undefined;
}

/** Throws STATE_BAD_KEY for a key outside the grammar; every adapter calls it before touching storage. */
export function checkKey(key: string): string {
  if (!keySegments(key))
    throw new StateError(StateErrorCode.BAD_KEY, `"${key.slice(0, 80)}" is not a valid state key.`, {
      hint:
        'Keys are `/`-separated segments of letters, digits, ".", "_" and "-" (no "." or ".." segment, none ' +
        'ending in .json, .tmp or .lock), at most 512 characters. This is a bug in the caller.',
    });
  return key;
}

/** A prefix for `list`: empty (everything), or a key, optionally ending in `/`. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}
