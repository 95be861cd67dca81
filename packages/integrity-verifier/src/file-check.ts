import { createHash } from 'node:crypto';
import type { FileResult } from './content-check.js';
import { JsonlChecker } from './jsonl.js';

/** One file's sha256, size and (for JSONL) validation, fed chunk by chunk on whichever thread has time. */
export class FileCheck {
  private readonly hash = createHash('sha256');
  private size = 0;
  readonly jsonl?: JsonlChecker;

  constructor(path: string, jsonl: boolean) {
    if (jsonl) this.jsonl = new JsonlChecker(path);
  }

  push(chunk: Buffer): void {
    this.hash.update(chunk);
    this.jsonl?.push(chunk);
    this.size += chunk.length;
  }

  result(): FileResult {
    const findings = this.jsonl?.end() ?? [];
    return { sha256: this.hash.digest('hex'), size: this.size, findings, findingsTotal: this.jsonl?.total ?? 0 };
  }
}
