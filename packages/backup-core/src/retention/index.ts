export type { RetentionTimeZone } from './buckets.js';
export { RetentionError, RetentionErrorCode } from './errors.js';
export { formatRetention, formatRetentionGroups } from './format.js';
export {
  planRetention,
  planRetentionGroups,
  retentionGroupKey,
  type RetentionDecision,
  type RetentionGroup,
  type RetentionOptions,
  type RetentionSnapshot,
} from './plan.js';
export { type RetentionConfigInput, type RetentionPolicy, retentionPolicyFromConfig } from './policy.js';
