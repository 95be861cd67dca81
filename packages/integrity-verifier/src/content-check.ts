import { Worker } from 'node:worker_threads';
import type { Finding } from '@drkit/repository';
import { FileCheck } from './file-check.js';

/** The worker's answer to a batch: its results, and the batch's memory back for reuse. */
export interface Answer {
  results: FileResult[];
  bytes: ArrayBuffer;
}

/** What the worker found for one file. */
export interface FileResult {
  sha256: string;
  size: number;
  findings: Finding[];
  findingsTotal: number;
}

/**
 * Numbers, not objects, because cloning an object per op cost more than the hashing: a file is
 * BEGIN, jsonl (0/1) (its path is next in `paths`); then `at, length` pairs into `bytes`; then END.
 */
export const BEGIN = -1;
export const END = -2;
export interface Batch {
  bytes: ArrayBuffer;
  ops: Int32Array;
  paths: string[];
}

const BATCH = 1 << 20;
/** Batches sent but not answered yet: memory stays at a few MiB however far the worker lags. */
const IN_FLIGHT = 8;

/**
 * Hashes (sha256) and validates (JSONL) file contents on a worker thread. On verify these cost
 * the main thread as much as reading, decrypting and unpacking the archive, so the two halves
 * run on two cores. Contents are copied into 1 MiB batches whose memory is handed over, not cloned.
 * A file that begins while the worker is IN_FLIGHT batches behind is checked on the main thread
 * instead: a run of JSONL files keeps the worker busy while the main thread would wait, and a run
 * of large binary files the other way round. Results still settle in file order.
 */
export class ContentChecker {
  private readonly worker = new Worker(new URL('./content-worker.js', import.meta.url));
  /** Batch memory the worker gave back: reused, so a verify allocates a few MiB, not one per MiB read. */
  private readonly spare: Buffer[] = [];
  private buf: Buffer = newBatch();
  private used = 0;
  private ops: number[] = [];
  private paths: string[] = [];
  private readonly waiting: Array<{ resolve: (r: FileResult) => void; reject: (e: Error) => void }> = [];
  private inFlight = 0;
  /** The file being checked here, on the main thread, because the worker was behind when it began. */
  private local?: FileCheck;
  /** The last end() promise: each one settles after the one before it. */
  private last: Promise<unknown> = Promise.resolve();
  private answered?: () => void;
  private failure?: Error;
  private closed = false;

  /** `inFlight`: how many batches the worker may be behind before files are checked here. */
  constructor(private readonly inFlightLimit = IN_FLIGHT) {
    this.worker.on('message', ({ results, bytes }: Answer) => {
      this.inFlight--;
      this.spare.push(Buffer.from(bytes));
      for (const r of results) this.waiting.shift()?.resolve(r);
      this.answered?.();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the content-check worker stopped (exit code ${code})`)));
  }

  /** Starts a file; its chunks follow through push(), then end(). */
  begin(path: string, jsonl: boolean): void {
    if (this.inFlight >= this.inFlightLimit) {
      this.local = new FileCheck(path, jsonl);
      return;
    }
    this.ops.push(BEGIN, jsonl ? 1 : 0);
    this.paths.push(path);
  }

  /** Copies a chunk in; returns a promise only when the worker is behind and the caller must wait. */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.local) {
      this.local.push(chunk);
      return undefined;
    }
    const n = chunk.copy(this.buf, this.used);
    if (n > 0) this.ops.push(this.used, n);
    this.used += n;
    if (n === chunk.length) return undefined;
    return this.send().then(() => this.push(chunk.subarray(n)));
  }

  /** The file's digest, size and findings, once the worker has seen all of it (after flush()). */
  end(): Promise<FileResult> {
    let own: Promise<FileResult>;
    if (this.local) {
      own = Promise.resolve(this.local.result());
      this.local = undefined;
    } else {
      this.ops.push(END);
      own = new Promise((resolve, reject) =>
        this.failure ? reject(this.failure) : this.waiting.push({ resolve, reject }),
      );
    }
    const inOrder = this.last.then(() => own);
    this.last = inOrder;
    return inOrder;
  }

  /** Sends what is batched: every end() promise settles after this. */
  async flush(): Promise<void> {
    if (this.ops.length) await this.send();
  }

  /** Set when the worker itself failed: an internal error, never a finding about the archive. */
  get broken(): Error | undefined {
    return this.failure;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }

  private async send(): Promise<void> {
    while (this.inFlight >= Math.max(1, this.inFlightLimit) && !this.failure)
      await new Promise<void>((r) => (this.answered = r));
    if (this.failure) throw this.failure;
    const batch: Batch = { bytes: this.buf.buffer as ArrayBuffer, ops: Int32Array.from(this.ops), paths: this.paths };
    this.worker.postMessage(batch, [batch.bytes, batch.ops.buffer as ArrayBuffer]);
    this.inFlight++;
    this.buf = this.spare.pop() ?? newBatch();
    this.used = 0;
    this.ops = [];
    this.paths = [];
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
    this.answered?.();
  }
}

// Its own ArrayBuffer (never the shared pool's), so it can be transferred; not zero-filled.
const newBatch = () => Buffer.allocUnsafeSlow(BATCH);
