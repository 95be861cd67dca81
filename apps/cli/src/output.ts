import { isDrkitError } from '@drkit/errors';
import { encodeName, hasEscapedBytes } from '@drkit/repository';
import { escapeName, escapeText } from './terminal.js';

export interface GlobalOptions {
  repo?: string;
  config?: string;
  json?: boolean;
  /** age identity file for reading encrypted repositories. */
  identity?: string;
  passphraseFile?: string;
  /** Public signing keys this host trusts (--trust-key, DRKIT_TRUST_KEY). */
  trustKey?: string[];
}

// A reader that goes away (`drkit ls | head`) closes the pipe: what is left to print is dropped,
// quietly, and the command ends with the exit code it would have had.
const open = { stdout: true, stderr: true };

/** Keeps a closed pipe (EPIPE) from ending the process with a stack trace. */
export function watchOutput(): void {
  process.stdout.on('error', () => {
    open.stdout = false;
  });
  process.stderr.on('error', () => {
    open.stderr = false;
  });
}

/** True once nobody reads stdout any more: a command that only prints can stop. */
export function outputClosed(): boolean {
  return !open.stdout;
}

/**
 * Resolves once everything written to stdout and stderr has gone out (or their reader is gone):
 * writes to a pipe are asynchronous, and exiting before they finish cuts the output short.
 */
export function outputFlushed(): Promise<void> {
  const flushed = (stream: NodeJS.WriteStream, isOpen: boolean) =>
    isOpen && !stream.destroyed ? new Promise<void>((resolve) => stream.write('', () => resolve())) : undefined;
  return Promise.all([flushed(process.stdout, open.stdout), flushed(process.stderr, open.stderr)]).then(() => {});
}

/** Writes raw bytes to stdout, waiting while the pipe is full; false once its reader is gone. */
export async function writeBytes(chunk: Buffer): Promise<boolean> {
  if (!open.stdout) return false;
  if (!process.stdout.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        process.stdout.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      process.stdout.on('drain', done).on('error', done).on('close', done);
    });
  }
  return open.stdout;
}

export function printJson(value: unknown): void {
  if (open.stdout) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function say(line = ''): void {
  writeLine(process.stdout, line, open.stdout);
}

export function warn(line: string): void {
  writeLine(process.stderr, line, open.stderr);
}

/**
 * A terminal gets control characters escaped; a pipe or file gets names byte-exact, as `ls`
 * does (a name that is not UTF-8 as its own bytes, not as U+FFFD). Nothing once its reader is gone.
 */
function writeLine(stream: NodeJS.WriteStream, line: string, isOpen: boolean): void {
  if (!isOpen) return;
  if (stream.isTTY) stream.write(`${escapeText(line)}\n`);
  else stream.write(hasEscapedBytes(line) ? encodeName(`${line}\n`) : `${line}\n`);
}

/** A file name in text output (on `stream`): escaped like `ls -b` on a terminal, exact elsewhere. */
export function shownName(name: string, stream: NodeJS.WriteStream = process.stdout): string {
  return stream.isTTY ? escapeName(name) : name;
}

/** Prints an error for people (stderr) and, with --json, for programs (stdout). */
export function reportError(err: unknown, json: boolean): void {
  const e = isDrkitError(err)
    ? { code: err.code, message: err.message, hint: err.hint, details: err.details }
    : {
        code: 'INTERNAL',
        message: (err as Error)?.stack ?? String(err),
        hint: 'This is a bug in drkit; please report it with the command you ran.',
      };
  warn(`drkit: error [${e.code}]: ${e.message}`);
  if (e.hint) warn(`  hint: ${e.hint}`);
  if (json) printJson({ error: e });
}

/** A single self-overwriting status line on stderr, only when a person is watching. */
export function progressLine(enabled: boolean): { update(text: string): void; done(): void } {
  const tty = enabled && process.stderr.isTTY;
  let last = 0;
  let shown = false;
  return {
    update(text) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[2K${escapeText(text).slice(0, (process.stderr.columns || 80) - 1)}`);
    },
    done() {
      if (tty && shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function bytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${UNITS[i]}`;
}

/** How long ago, in its largest whole unit: `45s`, `12m`, `5h`, `3d`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** Columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows])
    say(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}
