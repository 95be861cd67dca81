/** One waiter at a time, woken by `notify` (the extraction loop is the only one that waits). */
export class Signal {
  private wake: (() => void) | undefined;

  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  notify(): void {
    this.wake?.();
    this.wake = undefined;
  }
}

/** The first of several failures that happen off the extraction loop, thrown at its next step. */
export class FirstFailure {
  private first: { error: unknown } | undefined;

  record(error: unknown): void {
    this.first ??= { error };
  }

  check(): void {
    if (this.first) throw this.first.error;
  }
}

/**
 * For loops of blocking metadata calls (lstat, rename, chmod: each touches one cached inode,
 * where a thread-pool round trip per call costs more than the call): every `every` steps the
 * returned function gives the event loop a turn, so a service embedding a restore keeps answering.
 */
export function breather(every = 1024): () => Promise<void> | undefined {
  let steps = 0;
  return () => (++steps % every === 0 ? new Promise((resolve) => setImmediate(resolve)) : undefined);
}
