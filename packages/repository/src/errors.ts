import { DrkitError, type DrkitErrorOptions } from '@drkit/errors';

export const RepoErrorCode = {
  NOT_FOUND: 'REPO_NOT_FOUND',
  ALREADY_EXISTS: 'REPO_ALREADY_EXISTS',
  UNSUPPORTED_FORMAT: 'REPO_UNSUPPORTED_FORMAT',
  BAD_METADATA: 'REPO_BAD_METADATA',
  SNAPSHOT_NOT_FOUND: 'REPO_SNAPSHOT_NOT_FOUND',
  SNAPSHOT_AMBIGUOUS: 'REPO_SNAPSHOT_AMBIGUOUS',
  SOURCE_NOT_FOUND: 'REPO_SOURCE_NOT_FOUND',
  DIGEST_MISMATCH: 'REPO_DIGEST_MISMATCH',
  CORRUPT_ARCHIVE: 'REPO_CORRUPT_ARCHIVE',
  CODEC_UNAVAILABLE: 'REPO_CODEC_UNAVAILABLE',
  LOCKED: 'REPO_LOCKED',
} as const;
export type RepoErrorCode = (typeof RepoErrorCode)[keyof typeof RepoErrorCode];

export class RepoError extends DrkitError<RepoErrorCode> {
  constructor(code: RepoErrorCode, message: string, options?: DrkitErrorOptions) {
    super(code, message, options);
  }
}
