import { type StateStore, updateEntry } from '@drkit/state';

/**
 * One change to an outbox segment: records appended, or the record `id` replaced by `next` if it still reads as
 * `listed` (its JSON when it was listed). A record changed by someone else since is left as it is: theirs wins.
 */
export type SegmentChange = { append: unknown[] } | { id: string; listed: string; next: unknown };

/** The records of an outbox document: a segment `{records: [...]}`, or one record alone (a segment of one). */
export function recordsOf(value: unknown): unknown[] {
  const records = (value as { records?: unknown } | null)?.records;
  return Array.isArray(records) ? records : [value];
}

/** Where the record `id` is in a segment's records (-1: not there). */
export const indexOf = (records: unknown[], id: string) =>
  records.findIndex((r) => (r as { id?: unknown } | null)?.id === id);

/** A segment of one is stored as the record alone: the layout drkit wrote before segments, which it still reads. */
const encode = (records: unknown[]) => (records.length === 1 ? records[0] : { records });

interface Asked {
  change: SegmentChange;
  settle: (applied: boolean) => void;
  fail: (error: unknown) => void;
}

/**
 * Writes outbox segments, one write of a segment at a time: changes asked for while it runs go together in the next
 * write (a group commit, like the folder store's), so a segment of many messages sent at once is written a few times,
 * not once per message. Each change resolves once it is durable: true if it was applied.
 */
export class SegmentWriter {
  private readonly queues = new Map<string, Asked[]>();

  constructor(private readonly store: StateStore) {}

  write(key: string, change: SegmentChange): Promise<boolean> {
    return new Promise((settle, fail) => {
      const queue = this.queues.get(key);
      if (queue) queue.push({ change, settle, fail });
      else {
        this.queues.set(key, [{ change, settle, fail }]);
        void this.drain(key);
      }
    });
  }

  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key)!;
    for (let batch = queue.splice(0); batch.length; batch = queue.splice(0)) {
      let applied: boolean[] = [];
      try {
        await updateEntry(this.store, key, (value) => {
          const records = value === undefined ? [] : [...recordsOf(value)];
          applied = batch.map(({ change }) => apply(records, change));
          return applied.some(Boolean) ? encode(records) : undefined;
        });
        for (const [i, { settle }] of batch.entries()) settle(applied[i]!);
      } catch (error) {
        for (const { fail } of batch) fail(error);
      }
    }
    this.queues.delete(key);
  }
}

function apply(records: unknown[], change: SegmentChange): boolean {
  if ('append' in change) {
    records.push(...change.append);
    return true;
  }
  const i = indexOf(records, change.id);
  if (i < 0 || JSON.stringify(records[i]) !== change.listed) return false;
  records[i] = change.next;
  return true;
}
