export { digestBlob } from './blob-io.js';
export {
  checkDumpPayload,
  Crc64,
  crc64,
  displayKey,
  type DumpFooter,
  dumpRdbVersion,
  messageKey,
  rdbTypeName,
  REDIS_EXTENSIONS,
  REDIS_MAGIC,
  type RedisRecord,
} from './redis-records.js';
export {
  canWriteZstd,
  checkCompressionChoice,
  chooseCompression,
  type Compression,
  type CompressionChoice,
  type CompressionDecision,
} from './codec.js';
export { RepoError, RepoErrorCode } from './errors.js';
export {
  type BlobRef,
  type FailedSource,
  type Finding,
  FORMAT_VERSION,
  type IndexEntry,
  KEYS,
  type RedisMeta,
  type RepoConfig,
  type SnapshotMeta,
  type SourceMeta,
} from './format.js';
export {
  describeFilter,
  describeOrigin,
  inScope,
  matchesFilter,
  type SnapshotFilter,
  type SnapshotScope,
  type SnapshotSelection,
  sourceNames,
} from './select.js';
export { HashingStream } from './hashing.js';
export { BufferPool, copiedOut, lend } from './recycle.js';
export { newSnapshotId, SNAPSHOT_ID, snapshotIdTime } from './ids.js';
export { describeLeftovers, type Leftovers, removeLeftovers } from './leftovers.js';
export {
  describeDamagedLock,
  describeStaleLock,
  describeLockWait,
  type LockInfo,
  type LockOptions,
  ownerGone,
  readLocks,
  RepoLock,
  removeLocks,
  staleReason,
} from './lock.js';
export { globMatcher } from './globs.js';
export { decodeName, encodeName, fsPath, hasEscapedBytes } from '@drkit/tar';
export { normaliseEntryPath } from './paths.js';
export {
  assertSourceName,
  assertTag,
  encodedBytes,
  entryPathProblem,
  entryPlacementProblem,
  indexEntryProblem,
  isRedisDb,
  isSnapshotId,
  LIMITS,
  linkTargetProblem,
  type PathProblem,
  REPO_ID,
  sourceNameProblem,
  tagProblem,
} from './validate.js';
export {
  type ArchiveEntry,
  type BeginOptions,
  type ChainLink,
  type DamagedSnapshot,
  type InitOptions,
  type OpenOptions,
  Repository,
} from './repository.js';
export {
  BlobDamage,
  expectedHeader,
  indexAlone,
  salvageArchive,
  type SalvagedEntry,
  salvageIndex,
  type Span,
} from './salvage.js';
export { END_OF_ARCHIVE, encodeHeader, padding as tarPadding, type TarHeader, type TarType } from '@drkit/tar';
export {
  type CommitOptions,
  type Lineage,
  NOT_POINT_IN_TIME,
  type RedisSourceFacts,
  type SnapshotWriter,
  type SourceInfo,
  type SourceItem,
} from './writer.js';
export {
  AgeDecryptStream,
  AgeEncryptStream,
  AgeError,
  type AgeIdentity,
  type AgeRecipient,
  decryptBuffer,
  encryptBuffer,
  generateIdentity,
  PQIdentity,
  X25519Identity,
} from '@drkit/age';
export {
  AGE_SUFFIX,
  type EncryptionOptions,
  type KeyOptions,
  readIdentities,
  readRecipients,
  type RepoKeys,
  shortRecipient,
} from './encryption.js';
export { type CopyOptions, type CopyProgress, type CopyResult, copySnapshots } from './copy.js';
export { defaultCacheDir } from './cache-dir.js';
export { canonicalJson } from './canonical-json.js';
export { CHECKSUM_FIELD, encodeMetadata, metadataChecksum } from './metadata-checksum.js';
export {
  encodeSnapshot,
  PUBLIC_KEY_PREFIX,
  parseTrustKeys,
  SIGNATURE_FIELD,
  type SnapshotSignature,
  SigningKey,
  signedPayload,
} from './signing.js';
export { SnapshotTrust, type TrustOptions } from './trust.js';
export { type RepoStats, repositoryStats, type SizeCount } from './stats.js';
export { changeRecipients, type RecipientChange } from './recipients.js';
