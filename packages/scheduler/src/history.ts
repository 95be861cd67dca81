import { StateError, StateErrorCode, type StateStore, updateEntry } from '@drkit/state';
import * as z from 'zod';
import { SchedulerError, SchedulerErrorCode } from './errors.js';

export const RUN_RESULTS = ['running', 'success', 'partial', 'failed', 'interrupted', 'skipped', 'lost'] as const;
export type RunResult = (typeof RUN_RESULTS)[number];
/**
 * scheduled: its slot came; catch-up: the newest of slots missed while no daemon ran; after: another job's success;
 * manual: `drkit schedule run`.
 */
export const RUN_KINDS = ['scheduled', 'catch-up', 'after', 'manual'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

const isoTime = z.iso.datetime({ offset: true });

export const runRecordSchema = z.object({
  id: z.string(),
  job: z.string(),
  /** The slot's instant (ISO); a manual run's slot is when it was asked for. */
  slot: isoTime,
  kind: z.enum(RUN_KINDS),
  result: z.enum(RUN_RESULTS),
  /** Why a slot was skipped (overlap, superseded) or a run lost. */
  reason: z.string().optional(),
  holder: z.string(),
  /** The lease epoch the run held (fencing: only that holder may finish the record). */
  epoch: z.number().int().optional(),
  startedAt: isoTime.optional(),
  endedAt: isoTime.optional(),
  durationMs: z.number().optional(),
  /** Catch-up: how many missed slots this one run stands for. */
  covers: z.number().int().optional(),
  exitCode: z.number().int().optional(),
  snapshotId: z.string().optional(),
  /** Bytes stored by a backup, per source. */
  sources: z.array(z.object({ name: z.string(), bytes: z.number() })).optional(),
  errorCode: z.string().optional(),
  message: z.string().optional(),
  hint: z.string().optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

const compact = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '');

/**
 * Where a run lives: `schedule/runs/<job>/<slot>` (a manual
 * run's slot gets `-manual`), so a job's runs list in slot order.
 */
export function runKey(job: string, slotMs: number, kind: RunKind): string {
  return `schedule/runs/${job}/${compact(slotMs)}${kind === 'manual' ? '-manual' : ''}`;
}

function parse(key: string, value: unknown): RunRecord {
  const parsed = runRecordSchema.safeParse(value);
  if (!parsed.success)
    throw new SchedulerError(
      SchedulerErrorCode.DAMAGED,
      `The run record ${key} does not match the run model: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
      {
        hint:
          'Something other than drkit changed it: move it aside (or delete it); the job runs again at its ' +
          'next slot.',
        details: { key },
      },
    );
  return parsed.data;
}

const conflict = (error: unknown) => error instanceof StateError && error.code === StateErrorCode.CONFLICT;

/** Run history in the state store: one document per job slot, claimed with a create-only write. */
export class RunHistory {
  constructor(readonly store: StateStore) {}

  /** Writes the record only if its slot has none yet: false when another run (or replica) got the slot first. */
  async claim(record: RunRecord, slotMs: number): Promise<boolean> {
    return this.store.put(runKey(record.job, slotMs, record.kind), record, { ifRevision: 0 }).then(
      () => true,
      (error) => (conflict(error) ? false : Promise.reject(error)),
    );
  }

  /**
   * Finishes a run: one write conditional on the revision its claim made, so it fails (undefined)
   * when a replica declared the run lost meanwhile (fencing).
   */
  async finish(record: RunRecord, slotMs: number, change: Partial<RunRecord>): Promise<RunRecord | undefined> {
    const written: RunRecord = { ...record, ...change };
    return this.store.put(runKey(record.job, slotMs, record.kind), written, { ifRevision: 1 }).then(
      () => written,
      (error) => (conflict(error) ? undefined : Promise.reject(error)),
    );
  }

  /** Marks a run whose holder is gone (its lease lapsed, a newer epoch took over) as lost. */
  async markLost(key: string, reason: string, at: number): Promise<void> {
    await updateEntry<RunRecord>(this.store, key, (current) =>
      current?.result === 'running'
        ? { ...current, result: 'lost', reason, endedAt: new Date(at).toISOString() }
        : undefined,
    );
  }

  /** A job's runs (or every job's), oldest slot first; runs of one slot in the order they started. */
  async list(job?: string): Promise<{ key: string; record: RunRecord }[]> {
    const out: { key: string; record: RunRecord }[] = [];
    for await (const entry of this.store.list(job ? `schedule/runs/${job}/` : 'schedule/runs/'))
      out.push({ key: entry.key, record: parse(entry.key, entry.value) });
    return job
      ? out
      : out.sort(
          (a, b) =>
            a.record.slot.localeCompare(b.record.slot) ||
            (a.record.startedAt ?? '').localeCompare(b.record.startedAt ?? '') ||
            a.key.localeCompare(b.key),
        );
  }

  /**
   * Deletes finished runs whose slot is before `before` (ms), keeping each job's newest
   * non-manual run: catch-up counts from it. A record changed meanwhile is left alone.
   */
  async prune(before: number): Promise<number> {
    const cutoff = new Date(before).toISOString();
    const newest = new Map<string, string>();
    const old: { key: string; revision: number }[] = [];
    for await (const entry of this.store.list<RunRecord>('schedule/runs/')) {
      const record = parse(entry.key, entry.value);
      if (record.kind !== 'manual' && (newest.get(record.job) ?? '') < entry.key) newest.set(record.job, entry.key);
      if (record.slot < cutoff && record.result !== 'running') old.push({ key: entry.key, revision: entry.revision });
    }
    let pruned = 0;
    const kept = new Set(newest.values());
    for (const { key, revision } of old) {
      if (kept.has(key)) continue;
      if (
        await this.store
          .delete(key, { ifRevision: revision })
          .catch((error) => (conflict(error) ? false : Promise.reject(error)))
      )
        pruned++;
    }
    return pruned;
  }

  /** The job's newest run that is not a manual one (what catch-up counts from). */
  async lastScheduled(job: string): Promise<RunRecord | undefined> {
    const runs = await this.list(job);
    return runs.findLast((r) => r.record.kind !== 'manual')?.record;
  }
}
