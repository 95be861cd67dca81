import { DrkitError, type DrkitErrorOptions } from '@drkit/errors';

export const StorageErrorCode = {
  NOT_FOUND: 'STORAGE_NOT_FOUND',
  BAD_KEY: 'STORAGE_BAD_KEY',
  IO: 'STORAGE_IO',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends DrkitError<StorageErrorCode> {
  constructor(code: StorageErrorCode, message: string, options?: DrkitErrorOptions) {
    super(code, message, options);
  }
}
