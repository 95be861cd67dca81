export { type Dump, dumpPath } from './dump.js';
export { RestoreError, RestoreErrorCode } from './errors.js';
export { executeRestore, type RestoreHooks, type RestoreResult } from './execute.js';
export { type FormatPlanOptions, formatPlan } from './format-plan.js';
export { type CreateFile, FileWriter, type NewFile } from './write-entry.js';
export { originsOf, type SourceOrigin } from './origin.js';
export { planRestore } from './plan.js';
export type { DamagedBlob, LostEntry, SalvageReport } from './salvage.js';
export type { RestoreProgress } from './progress.js';
export {
  type Counts,
  OVERWRITE_POLICIES,
  type OverwritePolicy,
  PLAN_ACTIONS,
  type PlanAction,
  type PlanItem,
  type RestoreOptions,
  type RestorePlan,
} from './plan-model.js';
export {
  type RedisRestoreMode,
  type RedisRestoreOptions,
  type RedisRestorePlan,
  type RedisRestoreResult,
  REDIS_RESTORE_MODES,
  RedisRestoreError,
  RedisRestoreErrorCode,
  restoreRedis,
} from './redis/index.js';
