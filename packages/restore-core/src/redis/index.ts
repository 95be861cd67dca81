export { RedisRestoreError, RedisRestoreErrorCode } from './errors.js';
export {
  REDIS_RESTORE_MODES,
  type RedisRestoreMode,
  type RedisRestoreOptions,
  type RedisRestorePlan,
  type RedisRestoreResult,
  restoreRedis,
} from './restore-redis.js';
