export { assertValidKey, type BlobBody, type BlobInfo, type BlobStore } from './blob-store.js';
export { blobStoreContract, type ContractOptions, type ContractRunner } from './contract.js';
export { StorageError, StorageErrorCode } from './errors.js';
export { LocalStore } from './local-store.js';
