/**
 * Reads exact byte counts from a stream of chunks (a decompressed archive). Reads inside one
 * chunk are views of it; only a read that spans chunks is assembled into a buffer of its size.
 */
export class ByteReader {
  protected chunk: Buffer = Buffer.alloc(0);
  protected pos = 0;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Exactly n bytes, or fewer only at the end of the stream (none: it had ended). */
  async read(n: number): Promise<Buffer> {
    if (!(await this.ready())) return Buffer.alloc(0);
    if (this.chunk.length - this.pos >= n) return this.take(n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.ready())) return out.subarray(0, filled);
      filled += this.take(n - filled).copy(out, filled);
    }
    return out;
  }

  /** The next view of at most n bytes, from the current chunk; empty at the end of the stream. */
  async view(n: number): Promise<Buffer> {
    return (await this.ready()) ? this.take(n) : Buffer.alloc(0);
  }

  /** Skips n bytes; false when the stream ended first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      const v = await this.view(n);
      if (v.length === 0) return false;
      n -= v.length;
    }
    return true;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.ready());
  }

  /** Reads whatever is left without looking at it, so that the source reaches its end. */
  async drain(): Promise<void> {
    this.pos = this.chunk.length;
    while (!(await this.it.next()).done);
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }

  /** Moves past up to n bytes of the current chunk, returning them as a view. */
  protected take(n: number): Buffer {
    const k = Math.min(n, this.chunk.length - this.pos);
    this.pos += k;
    return this.chunk.subarray(this.pos - k, this.pos);
  }

  /** True when the current chunk has bytes left, after fetching chunks as needed. */
  private async ready(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      const next = await this.it.next();
      if (next.done) return false;
      this.chunk = next.value;
      this.pos = 0;
    }
    return true;
  }
}
