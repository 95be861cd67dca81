/**
 * Buffers lent to the archive writer (the protocol is storage's `lend`/`copiedOut`): the
 * compressor, the first stage that copies every byte it gets, hands each lent read buffer back
 * once it has copied it; a stored block goes on uncopied and comes back once the store has
 * written it or the encryptor has copied it.
 */
export { copiedOut, lend } from '@drkit/storage';

/** Same-sized buffers kept for reuse: at most `keep` wait in the pool. */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buf: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buf);
  }
}
