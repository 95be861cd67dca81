import { encodeName } from '@drkit/repository';

// What reaches a terminal never carries control characters or escape sequences from file names
// (or anything else read from a repository): they are shown escaped, as `ls -b` shows them.

const C_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\v': '\\v',
  '\f': '\\f',
  '\r': '\\r',
  '\\': '\\\\',
};

/** Control characters (C0 but newline, DEL, C1) and bytes that are not UTF-8 (docs/FORMAT.md, "File names"). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const UNSAFE_IN_TEXT = /[\x00-\x09\x0b-\x1f\x7f-\x9f]|[\uDC80-\uDCFF]/gu;
/** In a name also newlines, and `\`, so that every escaped name reads back one way. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const UNSAFE_IN_NAME = /[\x00-\x1f\x7f-\x9f\\]|[\uDC80-\uDCFF]/gu;

// The known C escapes, else the bytes in octal: ESC is \033, a lone byte 0xff is \377.
const escapeChar = (c: string): string =>
  C_ESCAPES[c] ?? [...encodeName(c)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');

/** A file name as `ls -b` shows it: control characters, bytes that are not UTF-8 and `\` escaped. */
export function escapeName(name: string): string {
  return name.replace(UNSAFE_IN_NAME, escapeChar);
}

/** Text for a terminal: line breaks stay, every other control character is escaped. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE_IN_TEXT, escapeChar);
}
