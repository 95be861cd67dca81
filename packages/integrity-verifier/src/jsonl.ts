import type { Finding } from '@drkit/repository';
import { isJsonText } from './json-bytes.js';

const NEWLINE = 0x0a;

/**
 * Checks that every line of a JSONL file is valid JSON, fed chunk by chunk so that memory
 * stays flat; a finding names the file and the 1-based line number.
 */
export class JsonlChecker {
  private tail: Buffer[] = [];
  private line = 0;
  readonly findings: Finding[] = [];
  total = 0;

  constructor(
    readonly path: string,
    private readonly maxFindings = 20,
  ) {}

  push(chunk: Buffer): void {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      if (chunk.length) this.tail.push(chunk);
      return;
    }
    // Check the chunk's complete lines in place (a newline byte never sits inside a UTF-8
    // sequence, so the cut is safe); only a line split across chunks is copied.
    const bytes = this.tail.length ? Buffer.concat([...this.tail, chunk.subarray(0, last)]) : chunk.subarray(0, last);
    this.tail = [];
    this.checkLines(bytes);
    if (last + 1 < chunk.length) this.tail.push(chunk.subarray(last + 1));
  }

  /** Copies the unfinished line it holds out of the last chunk, for a caller that reuses that chunk's memory. */
  keepTail(): void {
    if (this.tail.length) this.tail = [Buffer.concat(this.tail)];
  }

  /** Checks the last line (a file need not end with a newline) and returns the findings. */
  end(): Finding[] {
    if (this.tail.length) this.checkLines(Buffer.concat(this.tail));
    this.tail = [];
    return this.findings;
  }

  /** `bytes` holds whole lines separated by newlines, without the final newline. */
  private checkLines(bytes: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(NEWLINE, start);
      const end = nl === -1 ? bytes.length : nl;
      this.line++;
      if (!isJsonText(bytes, start, end) && !isBlank(bytes, start, end)) {
        this.total++;
        // Never quote the line: findings live in unencrypted metadata, and lines hold user data.
        if (this.findings.length < this.maxFindings)
          this.findings.push({
            kind: 'invalid-jsonl',
            path: this.path,
            line: this.line,
            message: `${this.path} line ${this.line} is not valid JSON (${end - start} bytes)`,
          });
      }
      if (nl === -1) return;
      start = nl + 1;
    }
  }
}

/** An empty or whitespace-only line (whitespace as String.prototype.trim sees it) is not a record. */
function isBlank(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return b.toString('utf8', start, end).trim() === ''; // e.g. NBSP, BOM: rare, so decode
    if (c !== 0x20 && (c < 0x09 || c > 0x0d)) return false;
  }
  return true;
}
