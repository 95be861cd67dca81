import type { Finding } from '@drkit/repository';

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
    // Decode every complete line of the chunk at once (a newline byte never sits inside a UTF-8
    // sequence, so the cut is safe) instead of one Buffer and one string per line.
    const bytes = this.tail.length ? Buffer.concat([...this.tail, chunk.subarray(0, last)]) : chunk.subarray(0, last);
    this.tail = [];
    this.checkLines(bytes);
    if (last + 1 < chunk.length) this.tail.push(chunk.subarray(last + 1));
  }

  /** Checks the last line (a file need not end with a newline) and returns the findings. */
  end(): Finding[] {
    if (this.tail.length) this.checkLines(Buffer.concat(this.tail));
    this.tail = [];
    return this.findings;
  }

  /** `bytes` holds whole lines separated by newlines, without the final newline. */
  private checkLines(bytes: Buffer): void {
    const lines = bytes.toString('utf8').split('\n');
    let lengths: number[] | undefined;
    for (let i = 0; i < lines.length; i++) {
      this.line++;
      const text = lines[i]!;
      try {
        JSON.parse(text);
      } catch {
        if (text.trim() === '') continue;
        this.total++;
        if (this.findings.length < this.maxFindings) {
          lengths ??= lineLengths(bytes);
          this.findings.push({
            kind: 'invalid-jsonl',
            path: this.path,
            line: this.line,
            // Never quote the line: findings live in unencrypted metadata, and lines hold user data.
            message: `line ${this.line} is not valid JSON (${lengths[i]} bytes)`,
          });
        }
      }
    }
  }
}

/** Byte length of each newline-separated line (only needed for a finding's message). */
function lineLengths(bytes: Buffer): number[] {
  const out: number[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(NEWLINE); nl !== -1; nl = bytes.indexOf(NEWLINE, start)) {
    out.push(nl - start);
    start = nl + 1;
  }
  out.push(bytes.length - start);
  return out;
}
