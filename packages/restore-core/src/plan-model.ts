import * as z from 'zod';
import { RestoreError, RestoreErrorCode } from './errors.js';

export const OVERWRITE_POLICIES = ['never', 'if-changed', 'always'] as const;
export type OverwritePolicy = (typeof OVERWRITE_POLICIES)[number];

/**
 * `set-mtime`: the entry equals the snapshot's but for its mtime, which is set without
 * rewriting it. `skip-unchanged` leaves an entry equal to the snapshot's (a folder still gets
 * its mtime back after entries are moved into it); `skip-existing` leaves it as it is.
 */
export const PLAN_ACTIONS = ['create', 'replace', 'set-mtime', 'skip-unchanged', 'skip-existing'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export const restoreOptionsSchema = z.object({
  /** A full snapshot id, a unique prefix of one, or `latest`. */
  snapshot: z.string().min(1),
  target: z.string().min(1),
  sources: z.array(z.string().min(1)).optional(),
  include: z.array(z.string().min(1)).optional(),
  /** Unset: refuse a non-empty target. */
  overwrite: z.enum(OVERWRITE_POLICIES).optional(),
  /** Read past damaged blocks: restore every entry that is still good and list what was lost (see Salvage). */
  salvage: z.boolean().optional(),
  /** Also remove what the target holds and the snapshot does not, so the target matches it. */
  delete: z.boolean().optional(),
});
export type RestoreOptions = z.input<typeof restoreOptionsSchema>;

const countsSchema = z.object({
  files: z.number().int().nonnegative(),
  dirs: z.number().int().nonnegative(),
  symlinks: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type Counts = z.infer<typeof countsSchema>;

const planItemSchema = z.object({
  source: z.string(),
  /**
   * Relative to the target, `/`-separated; `''` is the target itself. Besides the snapshot's
   * entries the items hold the folder each source lands in and any folder above an entry that
   * the index does not list: the plan names every entry the restore makes or changes.
   */
  path: z.string(),
  type: z.enum(['file', 'dir', 'symlink']),
  size: z.number().int().nonnegative(),
  action: z.enum(PLAN_ACTIONS),
  /** Why an existing entry is replaced or gets its mtime (`--overwrite if-changed`), e.g. `mode 0644 → 0600`. */
  reason: z.string().optional(),
});
export type PlanItem = z.infer<typeof planItemSchema>;

export const restorePlanSchema = z.object({
  snapshot: z.string(),
  /** Absolute. */
  target: z.string(),
  targetState: z.enum(['missing', 'empty', 'non-empty']),
  overwrite: z.enum(OVERWRITE_POLICIES).optional(),
  include: z.array(z.string()).optional(),
  salvage: z.literal(true).optional(),
  /** Each selected source and the folder under the target it lands in (`''` = the target itself). */
  sources: z.array(z.object({ name: z.string(), dir: z.string() })),
  /** Sources of the snapshot that are not file trees (e.g. redis), left out of a folder restore. */
  notRestored: z.array(z.object({ name: z.string(), type: z.string() })).optional(),
  /** Sorted by path, so every folder comes before what it holds. */
  items: z.array(planItemSchema),
  /** With `delete`: what the target holds and the snapshot does not, each removed with all below it. */
  remove: z.array(z.object({ path: z.string(), type: z.enum(['file', 'dir', 'symlink', 'other']) })).optional(),
  /**
   * Everything selected, then the part that will be written, the
   * part whose mtime alone is set, and the part left as it is.
   */
  totals: countsSchema,
  toWrite: countsSchema,
  mtimeOnly: countsSchema,
  skipped: countsSchema,
});
/** What a restore will do; plain JSON, so it can be printed for `--dry-run` or saved and executed later. */
export type RestorePlan = z.infer<typeof restorePlanSchema>;
export type TargetState = RestorePlan['targetState'];

/** Validates an edge input, turning zod's issues into a BAD_OPTIONS error. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string, hint: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new RestoreError(RestoreErrorCode.BAD_OPTIONS, `Invalid ${what}: ${issues}.`, {
    hint,
  });
}

export function emptyCounts(): Counts {
  return { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
}

export function addToCounts(counts: Counts, item: Pick<PlanItem, 'type' | 'size'>): void {
  if (item.type === 'file') {
    counts.files++;
    counts.bytes += item.size;
  } else if (item.type === 'dir') counts.dirs++;
  else counts.symlinks++;
}

export function isWrite(action: PlanAction): boolean {
  return action === 'create' || action === 'replace';
}

/** The counts of a plan an item belongs to, besides `totals`. */
export function countsFor(plan: Pick<RestorePlan, 'toWrite' | 'mtimeOnly' | 'skipped'>, action: PlanAction): Counts {
  return isWrite(action) ? plan.toWrite : action === 'set-mtime' ? plan.mtimeOnly : plan.skipped;
}
