/**
 * Buffers lent to the archive writer. The compressor, the first stage that copies every byte it
 * gets, hands each lent buffer back once it has copied it, so a reader can refill the same memory
 * instead of allocating a fresh buffer per chunk: fresh buffers are garbage that V8 frees late and
 * glibc keeps as RSS. A buffer that is never handed back (a failed backup) is simply collected.
 */
const lent = new WeakMap<Uint8Array, () => void>();

/** Marks `view` as lent: `giveBack` runs once its bytes have been copied out. */
export function lend(view: Buffer, giveBack: () => void): Buffer {
  lent.set(view, giveBack);
  return view;
}

/** Called by the stage that copied `view`'s bytes: nothing downstream sees `view` again. */
export function copiedOut(view: Uint8Array): void {
  const giveBack = lent.get(view);
  if (!giveBack) return;
  lent.delete(view);
  giveBack();
}

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
