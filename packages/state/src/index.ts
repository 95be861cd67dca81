export { type StateContractOptions, type StateContractRunner, stateStoreContract } from './contract.js';
export { StateError, StateErrorCode } from './errors.js';
export { FolderStateStore } from './folder-store.js';
export { processAlive } from './key-lock.js';
export { checkKey, checkPrefix, keySegments } from './keys.js';
export { DEFAULT_STATE_LOCATION, openStateStore } from './open.js';
export { RedisStateStore } from './redis-store.js';
export { type StateEntry, type StateStore, updateEntry, type WriteOptions } from './store.js';
export type { Lease, LeaseBackend } from './lease.js';
