import { StateError, StateErrorCode } from './errors.js';

/** A stored document. `revision` starts at 1 and grows by one at every write of the key. */
export interface StateEntry<T = unknown> {
  key: string;
  value: T;
  revision: number;
  /** ISO time of the write, by the writer's clock. */
  updatedAt: string;
}

export interface WriteOptions {
  /** Write only if the key's current revision is this one (0: only if the key does not exist); else STATE_CONFLICT. */
  ifRevision?: number;
}

/**
 * drkit's operational state: incidents, the notification outbox, run history, drill results.
 * Never the backup repository it reports on. Values are JSON documents; a write is durable
 * when its promise resolves (a kill -9 afterwards loses nothing), and a store interrupted at any
 * moment stays readable: each key holds its old or its new document, never a mix.
 */
export interface StateStore {
  /** Where the store is, for messages; secrets masked. */
  readonly location: string;
  get<T = unknown>(key: string): Promise<StateEntry<T> | undefined>;
  put<T>(key: string, value: T, options?: WriteOptions): Promise<StateEntry<T>>;
  /** True if the key existed. With `ifRevision`, deletes only that revision (else STATE_CONFLICT). */
  delete(key: string, options?: WriteOptions): Promise<boolean>;
  /** Every entry whose key starts with `prefix`, in key order (code units). */
  list<T = unknown>(prefix: string): AsyncIterable<StateEntry<T>>;
  close(): Promise<void>;
}

/**
 * Read-modify-write with optimistic concurrency: `change` sees the current value (undefined if
 * absent) and returns the new one (undefined: leave it as it is); when another writer got there
 * first, it runs again on the newer value.
 */
export async function updateEntry<T>(
  store: StateStore,
  key: string,
  change: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  attempts = 20,
): Promise<StateEntry<T> | undefined> {
  for (let i = 0; ; i++) {
    const current = await store.get<T>(key);
    const next = await change(current?.value);
    if (next === undefined) return current;
    try {
      return await store.put(key, next, { ifRevision: current?.revision ?? 0 });
    } catch (err) {
      if (!(err instanceof StateError && err.code === StateErrorCode.CONFLICT) || i + 1 >= attempts) throw err;
    }
    // Writers that collided would collide again in lockstep: spread them out a little.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** i)));
  }
}
