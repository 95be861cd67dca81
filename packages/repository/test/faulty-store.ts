import { type BlobBody, type BlobInfo, LocalStore } from '@drkit/storage';

/**
 * A real LocalStore that fails the puts or deletes of matching keys: faults (a failing index
 * upload, a delete refused by the storage) that a local disk will not produce on demand.
 */
export class FaultyStore extends LocalStore {
  constructor(
    root: string,
    private readonly faults: { put?: RegExp; delete?: RegExp },
  ) {
    super(root);
  }

  override async put(key: string, body: BlobBody): Promise<BlobInfo> {
    if (this.faults.put?.test(key)) throw new Error(`injected: put ${key} failed`);
    return super.put(key, body);
  }

  override async delete(key: string): Promise<void> {
    if (this.faults.delete?.test(key)) throw new Error(`injected: delete ${key} failed`);
    return super.delete(key);
  }
}
