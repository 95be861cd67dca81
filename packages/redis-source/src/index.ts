export {
  describeRedis,
  loadIoredis,
  type RedisClient,
  RedisConnection,
  type RedisConnectionOptions,
  type RedisEndpoint,
  type RedisMode,
  type RedisTlsOptions,
  type ServerFacts,
} from './connection.js';
export { RedisError, RedisErrorCode, redisFailure } from './errors.js';
export { rdbVersionOfRelease, type TargetRdbVersion, targetRdbVersion } from './rdb.js';
export { countKeys, type DbCount, type KeySelection, unlinkKeys } from './revoke.js';
export { type ScanOptions, scanKeys } from './scan.js';
export { maskUrl, type ParsedRedisUrl, parseRedisUrl } from './url.js';
