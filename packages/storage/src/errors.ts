import { DrkitError } from '@drkit/errors';

export const StorageErrorCode = {
  NOT_FOUND: 'STORAGE_NOT_FOUND',
  BAD_KEY: 'STORAGE_BAD_KEY',
  IO: 'STORAGE_IO',
  BAD_LOCATION: 'STORAGE_BAD_LOCATION',
  NO_BUCKET: 'STORAGE_NO_BUCKET',
  NO_CREDENTIALS: 'STORAGE_NO_CREDENTIALS',
  ACCESS_DENIED: 'STORAGE_ACCESS_DENIED',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends DrkitError<StorageErrorCode> {}
