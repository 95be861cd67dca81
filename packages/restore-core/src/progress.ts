import { addToCounts, type Counts, emptyCounts, type PlanItem, type RestorePlan } from './plan-model.js';

// Large files report progress every few MiB, not only when they are done.
const PROGRESS_STEP = 8 * 1024 * 1024;

export interface RestoreProgress {
  files: number;
  bytes: number;
  /** Bytes the plan will write in all. */
  totalBytes: number;
  /** The file being written, relative to the target. */
  path: string;
}

export interface ProgressTracker {
  written: Counts;
  onBytes: (item: PlanItem, bytes: number) => void;
  onWritten: (item: PlanItem) => void;
}

/** Counts what is written and reports it: after each file, and every few MiB within a large one. */
export function trackProgress(plan: RestorePlan, onProgress?: (progress: RestoreProgress) => void): ProgressTracker {
  const written = emptyCounts();
  let streamed = 0;
  let reported = 0;
  const report = (item: PlanItem) => {
    reported = streamed;
    onProgress?.({ files: written.files, bytes: streamed, totalBytes: plan.toWrite.bytes, path: item.path });
  };
  return {
    written,
    onBytes: (item, bytes) => {
      streamed += bytes;
      if (streamed - reported >= PROGRESS_STEP) report(item);
    },
    onWritten: (item) => {
      addToCounts(written, item);
      if (item.type === 'file') report(item);
    },
  };
}
