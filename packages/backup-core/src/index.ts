export {
  type BackupOptions,
  type BackupProgress,
  type BackupResult,
  type Clock,
  type FileSource,
  runBackup,
  sourcesFromPaths,
  systemClock,
} from './backup.js';
export { ChangeCache, defaultCacheDir } from './change-cache.js';
export { BackupError, BackupErrorCode } from './errors.js';
export { type OpenFile, openForBackup } from './file-source.js';
export { type KnownName, type KnownNames, walkTree, type WalkEntry, type WalkOptions } from './walk.js';
export { backupRedisSource } from './redis/backup-redis.js';
export { type RedisReadReport, type RedisReadTuning, type RedisSource, readRedis } from './redis/source.js';
export {
  formatRetention,
  formatRetentionGroups,
  planRetention,
  planRetentionGroups,
  type RetentionConfigInput,
  type RetentionDecision,
  RetentionError,
  RetentionErrorCode,
  type RetentionGroup,
  type RetentionOptions,
  type RetentionPolicy,
  type RetentionSnapshot,
  type RetentionTimeZone,
  retentionPolicyFromConfig,
} from './retention/index.js';
export { type ForgetOptions, type ForgetResult, forgetSnapshots } from './forget.js';
export { type ChainDecision, type ChainOptions, chooseParent } from './incremental.js';
