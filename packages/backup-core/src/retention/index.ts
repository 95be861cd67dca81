export type { RetentionTimeZone } from './buckets.js';
export { RetentionError, RetentionErrorCode } from './errors.js';
export { formatRetention } from './format.js';
export { planRetention, type RetentionDecision, type RetentionOptions, type RetentionSnapshot } from './plan.js';
export { type RetentionConfigInput, type RetentionPolicy, retentionPolicyFromConfig } from './policy.js';
