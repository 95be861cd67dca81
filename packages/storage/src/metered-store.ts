import { Readable, Transform } from 'node:stream';
import type { BlobBody, BlobInfo, BlobStore } from './blob-store.js';

/**
 * Wraps a store and counts the bytes it takes in and hands out, as they flow: with an
 * uploading store the count follows the upload (backpressure), which is what progress shows.
 */
export class MeteredStore implements BlobStore {
  bytesWritten = 0;
  bytesRead = 0;

  constructor(
    readonly inner: BlobStore,
    private readonly onBytes?: (m: { written: number; read: number }) => void,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  put(key: string, body: BlobBody): Promise<BlobInfo> {
    if (body instanceof Uint8Array) {
      this.bytesWritten += body.byteLength;
      this.onBytes?.({ written: this.bytesWritten, read: this.bytesRead });
      return this.inner.put(key, body);
    }
    const self = this;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        self.bytesWritten += chunk.length;
        self.onBytes?.({ written: self.bytesWritten, read: self.bytesRead });
        yield chunk;
      }
    }
    return this.inner.put(key, Readable.from(counted(), { objectMode: false }));
  }

  async get(key: string): Promise<Readable> {
    const src = await this.inner.get(key);
    const count = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.bytesRead += chunk.length;
        this.onBytes?.({ written: this.bytesWritten, read: this.bytesRead });
        done(null, chunk);
      },
    });
    src.on('error', (e) => count.destroy(e));
    count.on('close', () => src.destroy());
    return src.pipe(count);
  }

  stat(key: string): Promise<BlobInfo | undefined> {
    return this.inner.stat(key);
  }

  list(prefix: string): AsyncIterable<BlobInfo> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  async cleanupTemp(olderThanMs: number, now?: Date): Promise<number> {
    return (await this.inner.cleanupTemp?.(olderThanMs, now)) ?? 0;
  }
}
