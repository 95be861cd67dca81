import { DrkitError } from '@drkit/errors';

export const VerifyErrorCode = {
  INTERRUPTED: 'VERIFY_INTERRUPTED',
} as const;
export type VerifyErrorCode = (typeof VerifyErrorCode)[keyof typeof VerifyErrorCode];

export class VerifyError extends DrkitError<VerifyErrorCode> {}
