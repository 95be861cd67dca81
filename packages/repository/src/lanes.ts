import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

const ZSTD_E_END = (zlib.constants as { ZSTD_e_end?: number }).ZSTD_e_end ?? 2;

/**
 * One node:zlib zstd compressor reused block after block: each job writes one block and ends
 * the frame with ZSTD_e_end, so every block is its own complete frame and no fresh context per
 * block (a few MiB of malloc churn each) is needed. Jobs given to one lane run one after the other.
 */
export class ZstdLane {
  private out: Buffer[] = [];
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly stream: Transform) {
    stream.on('data', (chunk: Buffer) => this.out.push(chunk));
    stream.on('error', () => {}); // reported to the job that runs, through the flush callback
  }

  run(input: Buffer): Promise<Buffer[]> {
    const job = this.tail.then(() => this.frame(input));
    this.tail = job.catch(() => {});
    return job;
  }

  close(): void {
    this.stream.destroy();
  }

  private frame(input: Buffer): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      this.stream.write(input);
      (this.stream as Transform & { flush(kind: number, cb: (err?: Error | null) => void): void }).flush(
        ZSTD_E_END,
        (err) => {
          if (err) return reject(err);
          while (this.stream.read() !== null); // output still buffered, if any, goes to the 'data' listener now
          const out = this.out;
          this.out = [];
          resolve(out);
        },
      );
    });
  }
}

/** Results of concurrent jobs, passed on in the order the jobs were added. */
export class InOrder<T> {
  private readonly running: Promise<T>[] = [];

  add(job: Promise<T>): void {
    job.catch(() => {}); // awaited in order by settle(); this only keeps a later failure from being unhandled
    this.running.push(job);
  }

  /** Hands finished results to `emit`, in order, until at most `keep` jobs are still running. */
  async settle(keep: number, emit: (result: T) => void): Promise<void> {
    while (this.running.length > keep) {
      const result = await this.running[0]!;
      this.running.shift();
      emit(result);
    }
  }
}
