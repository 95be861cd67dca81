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
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const whole = this.tail.length ? Buffer.concat([...this.tail, piece]) : piece;
      this.tail = [];
      this.checkLine(whole);
      start = nl + 1;
    }
    if (start < chunk.length) this.tail.push(chunk.subarray(start));
  }

  /** Checks the last line (a file need not end with a newline) and returns the findings. */
  end(): Finding[] {
    if (this.tail.length) this.checkLine(Buffer.concat(this.tail));
    this.tail = [];
    return this.findings;
  }

  private checkLine(bytes: Buffer): void {
    this.line++;
    const text = bytes.toString('utf8');
    if (text.trim() === '') return;
    try {
      JSON.parse(text);
    } catch {
      this.total++;
      if (this.findings.length < this.maxFindings)
        this.findings.push({
          kind: 'invalid-jsonl',
          path: this.path,
          line: this.line,
          // Never quote the line: findings live in unencrypted metadata, and lines hold user data.
          message: `line ${this.line} is not valid JSON (${bytes.length} bytes)`,
        });
    }
  }
}
