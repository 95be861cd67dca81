import type { StateStore } from '@drkit/state';
import { RunbookError, RunbookErrorCode } from './errors.js';
import { type DrillReport, drillMarkdown } from './report.js';

/** Drill reports live under this prefix; ids start with their UTC time, so key order is time order. */
export const DRILL_PREFIX = 'drills/';

interface StoredDrill {
  report: DrillReport;
  markdown: string;
}

function isStored(value: unknown): value is StoredDrill {
  const v = value as StoredDrill | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.markdown === 'string' &&
    typeof v.report?.id === 'string' &&
    Array.isArray(v.report.phases)
  );
}

/** Keeps a drill's report (JSON and markdown) in the state store. */
export async function saveDrill(store: StateStore, report: DrillReport): Promise<void> {
  await store.put<StoredDrill>(`${DRILL_PREFIX}${report.id}`, { report, markdown: drillMarkdown(report) });
}

/** Every drill, oldest first (the trend `drkit drill history` and the scheduler's page show). */
export async function drillHistory(store: StateStore): Promise<DrillReport[]> {
  const out: DrillReport[] = [];
  for await (const entry of store.list(DRILL_PREFIX)) {
    if (!isStored(entry.value))
      throw new RunbookError(
        RunbookErrorCode.DAMAGED,
        `The drill report ${entry.key} in ${store.location} is damaged.`,
        { hint: `Delete it from the state store; later drills are not affected.` },
      );
    out.push(entry.value.report);
  }
  return out;
}

/** One drill's report and markdown, by id or a unique start of one. */
export async function findDrill(store: StateStore, id: string): Promise<StoredDrill> {
  const found: StoredDrill[] = [];
  for await (const entry of store.list(`${DRILL_PREFIX}${id}`)) if (isStored(entry.value)) found.push(entry.value);
  if (found.length === 1) return found[0]!;
  throw new RunbookError(
    RunbookErrorCode.NOT_FOUND,
    found.length ? `${found.length} drills start with "${id}".` : `No drill has the id "${id}" in ${store.location}.`,
    {
      hint: 'drkit drill history lists the drills and their ids.',
    },
  );
}
