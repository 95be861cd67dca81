import type { Readable } from 'node:stream';
import type { ProcessOwner } from './process-tag.js';

export interface BlobInfo {
  key: string;
  size: number;
}

/** A temp file of a put that has not finished (LocalStore), with the process that writes it when its name says. */
export interface TempFile {
  name: string;
  size: number;
  mtimeMs: number;
  owner?: ProcessOwner;
}

/** What a put accepts: a Node stream, any async iterable of bytes, or one buffer. */
export type BlobBody = Readable | AsyncIterable<Uint8Array> | Uint8Array;

/**
 * How a web origin serves the blob (an S3 bucket behind a
 * website or CDN); a folder has no such metadata and ignores it.
 */
export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
}

/**
 * A flat namespace of immutable blobs addressed by `/`-separated keys.
 * `put` is atomic: readers see the whole blob or nothing, never a prefix.
 */
export interface BlobStore {
  /** Where the store lives, for messages (never contains secrets). */
  readonly location: string;
  put(key: string, body: BlobBody, options?: PutOptions): Promise<BlobInfo>;
  /** Streams the blob; rejects with STORAGE_NOT_FOUND when absent. */
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Every blob whose key starts with `prefix`, in no promised order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Removes the blob; removing an absent blob is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Stores that keep temp files of unfinished puts (LocalStore) remove those `isGarbage` picks
   * (left by a writer that is gone) and return them.
   */
  cleanupTemp?(isGarbage: (file: TempFile) => boolean): Promise<TempFile[]>;
  /**
   * Stores with real folders (LocalStore) remove the empty ones
   * under `prefix`, left by a delete cut short; returns their keys.
   */
  removeEmptyFolders?(prefix: string): Promise<string[]>;
}

const SEGMENT = /^[^/\\\0]+$/;

/** Keys are relative, `/`-separated, without empty, `.` or `..` segments. */
export function assertValidKey(key: string): void {
  const ok = key.length > 0 && key.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!ok) throw new TypeError(`invalid blob key ${JSON.stringify(key)}`);
}
