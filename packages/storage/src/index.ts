export {
  assertValidKey,
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  type PutOptions,
  type TempFile,
} from './blob-store.js';
export { blobStoreContract, type ContractOptions, type ContractRunner } from './contract.js';
export { StorageError, StorageErrorCode } from './errors.js';
export { copiedOut, lend } from './lent.js';
export { LocalStore } from './local-store.js';
export { MeteredStore } from './metered-store.js';
export { parseProcessTag, type ProcessOwner, processTag } from './process-tag.js';
export { openStore, parseRepoLocation, type RepoLocation } from './location.js';
export { MiB, MIN_PART_SIZE, type S3Credentials, S3Store, type S3StoreOptions, s3LocationText } from './s3-store.js';
