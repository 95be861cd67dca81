import { StateError, StateErrorCode } from './errors.js';
import type { StateEntry, WriteOptions } from './store.js';

/** What an adapter stores for a key (the key itself is where it is stored). */
export interface StoredDocument<T = unknown> {
  revision: number;
  updatedAt: string;
  value: T;
}

/** A stored document read back; STATE_DAMAGED when it is not one (never a partial write: those cannot happen). */
export function parseStored<T>(key: string, text: string, where: string): StateEntry<T> {
  let doc: Partial<StoredDocument<T>> | undefined;
  try {
    doc = JSON.parse(text) as Partial<StoredDocument<T>>;
  } catch {
    doc = undefined;
  }
  if (
    !doc ||
    typeof doc !== 'object' ||
    !Number.isSafeInteger(doc.revision) ||
    (doc.revision as number) < 1 ||
    typeof doc.updatedAt !== 'string' ||
    !('value' in doc)
  )
    throw new StateError(
      StateErrorCode.DAMAGED,
      `State key "${key}" (${where}) does not hold a drkit state document.`,
      {
        hint:
          'Something other than drkit wrote it. Move it aside (or delete it) and run the command again; see ' +
          'docs/FORMAT.md for the layout.',
        details: { key, where },
      },
    );
  return { key, value: doc.value as T, revision: doc.revision as number, updatedAt: doc.updatedAt };
}

/** The store could not be reached, read or written: says where and what was being done. */
export function unavailable(
  location: string,
  doing: string,
  cause: unknown,
  hint = 'Check that the folder is writable and the disk not full (or that Redis is up and reachable), then run ' +
    'the command again.',
): StateError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StateError(StateErrorCode.UNAVAILABLE, `The state store ${location} failed to ${doing}: ${reason}`, {
    cause,
    hint,
    details: { location },
  });
}

export function checkValue(key: string, value: unknown): void {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol')
    throw new StateError(StateErrorCode.BAD_VALUE, `The value for state key "${key}" is not a JSON document.`, {
      hint: 'This is a bug in the caller: store objects, arrays, strings, numbers, booleans or null.',
    });
}

export function checkRevision(key: string, current: number, options: WriteOptions): void {
  if (options.ifRevision !== undefined && options.ifRevision !== current)
    throw new StateError(
      StateErrorCode.CONFLICT,
      `State key "${key}" is at revision ${current}, not ${options.ifRevision}: another writer changed it first.`,
      {
        hint: 'Read it again and retry (updateEntry does this).',
        details: { key, revision: current, expected: options.ifRevision },
      },
    );
}

/** Runs one call to a backend; any failure becomes STATE_UNAVAILABLE saying what was being done. */
export async function attempt<R>(location: string, doing: string, run: () => Promise<R>, hint?: string): Promise<R> {
  try {
    return await run();
  } catch (error) {
    throw unavailable(location, doing, error, hint);
  }
}
