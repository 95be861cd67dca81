import { Worker } from 'node:worker_threads';
import { makeDir, writeSmallFile } from './small-writes.js';
import { FirstFailure, Signal } from './waits.js';

/** One batch for the writer thread: folders and small files, in the order they are to be made. */
export interface WriteBatch {
  /** The files' contents, back to back; transferred, not copied. */
  bytes: ArrayBuffer;
  /** Per entry: DIR, or FILE offset length mode mtime. */
  ops: number[];
  paths: string[];
}

export interface WriteAnswer {
  bytes: ArrayBuffer;
  /** The first failure; later batches are answered without being written. */
  error?: { message: string; code?: string; syscall?: string; path?: string };
}

export const DIR = 0;
export const FILE = 1;

/** File bytes per batch: one transfer carries many small files (each is at most SMALL_FILE). */
const BATCH_BYTES = 1 << 20;
const BATCH_ENTRIES = 1024;
/** Batches sent and not yet answered: the thread always has the next one waiting. */
const IN_FLIGHT = 3;

/**
 * Makes a batch's folders and files, in order; stops at the first failure. Runs on the writer thread (or, for a restore
 * too small to need one, on the main thread).
 */
export function applyBatch({ bytes, ops, paths }: WriteBatch): WriteAnswer['error'] {
  const data = Buffer.from(bytes);
  try {
    for (let i = 0, p = 0; i < ops.length; p++) {
      if (ops[i] === DIR) {
        makeDir(paths[p]!);
        i += 1;
      } else {
        const at = ops[i + 1]!;
        writeSmallFile(paths[p]!, data.subarray(at, at + ops[i + 2]!), ops[i + 3]!, ops[i + 4]!);
        i += 5;
      }
    }
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { message: err?.message ?? String(e), code: err?.code, syscall: err?.syscall, path: err?.path };
  }
}

/**
 * Makes folders and writes small files on a thread of its own, in batches, so that the main
 * thread's time goes to unpacking and hashing while the kernel creates the entries (on the
 * scale-1 bench tree, mkdir and open were ~2 s of the main thread's ~5.4 s). Entries are made in
 * the order given; `drain` waits until all given so far exist.
 */
export class WriteThread {
  private worker: Worker | undefined;
  private readonly spare: Buffer[] = [];
  private buf: Buffer | undefined;
  private used = 0;
  private ops: number[] = [];
  private paths: string[] = [];
  private inFlight = 0;
  private readonly failure = new FirstFailure();
  private readonly answered = new Signal();

  async dir(path: string): Promise<void> {
    this.ops.push(DIR);
    this.paths.push(path);
    if (this.paths.length >= BATCH_ENTRIES) await this.send();
  }

  /** Queues a small file (at most BATCH_BYTES); its bytes are copied, so the chunks may be reused at once. */
  async file(path: string, chunks: readonly Buffer[], size: number, mode: number, mtime: number): Promise<void> {
    if (this.used + size > BATCH_BYTES) await this.send();
    this.buf ??= this.spare.pop() ?? Buffer.from(new ArrayBuffer(BATCH_BYTES));
    const at = this.used;
    for (const c of chunks) this.used += c.copy(this.buf, this.used);
    this.ops.push(FILE, at, size, mode, mtime);
    this.paths.push(path);
    if (this.paths.length >= BATCH_ENTRIES) await this.send();
  }

  /** Waits until every entry given so far has been made; throws the first failure. */
  async drain(): Promise<void> {
    if (!this.worker) return this.applyHere();
    await this.send();
    while (this.inFlight > 0) await this.answered.wait();
    this.check();
  }

  /** drain, then ends the thread. */
  async finish(): Promise<void> {
    try {
      await this.drain();
    } finally {
      await this.stop();
    }
  }

  /** Ends the thread at once: nothing more is written after this resolves. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private async send(): Promise<void> {
    if (this.paths.length === 0) return;
    while (this.inFlight >= IN_FLIGHT) await this.answered.wait();
    this.check();
    const batch = this.take();
    this.inFlight++;
    this.worker ??= this.start();
    this.worker.postMessage(batch, [batch.bytes]);
  }

  /** Until a batch fills up there is no thread: a small restore (or a symlink early on) makes its entries here. */
  private applyHere(): void {
    this.check();
    if (this.paths.length === 0) return;
    const error = applyBatch(this.take());
    if (error) this.failure.record(asFsError(error));
    this.check();
  }

  private take(): WriteBatch {
    const batch = { bytes: this.buf?.buffer ?? new ArrayBuffer(0), ops: this.ops, paths: this.paths };
    this.buf = undefined;
    this.used = 0;
    this.ops = [];
    this.paths = [];
    return batch as WriteBatch;
  }

  private start(): Worker {
    const worker = new Worker(new URL('./write-worker.js', import.meta.url));
    worker.on('message', ({ bytes, error }: WriteAnswer) => {
      this.inFlight--;
      if (bytes.byteLength === BATCH_BYTES) this.spare.push(Buffer.from(bytes));
      if (error) this.failure.record(asFsError(error));
      this.answered.notify();
    });
    worker.on('error', (error) => {
      this.failure.record(error);
      this.answered.notify();
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return; // stopped on purpose
      this.failure.record(new Error('the restore writer thread stopped unexpectedly'));
      this.inFlight = 0;
      this.answered.notify();
    });
    return worker;
  }

  private check(): void {
    this.failure.check();
  }
}

/** A failure on the writer thread, as the error the same call would have thrown on the main thread. */
function asFsError(e: NonNullable<WriteAnswer['error']>): Error {
  return Object.assign(new Error(e.message), { code: e.code, syscall: e.syscall, path: e.path });
}
