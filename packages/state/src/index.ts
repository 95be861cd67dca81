export { StateError, StateErrorCode } from './errors.js';
export { checkKey, checkPrefix, keySegments } from './keys.js';
export { type StateEntry, type StateStore, updateEntry, type WriteOptions } from './store.js';
