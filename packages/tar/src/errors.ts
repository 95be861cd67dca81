import { DrkitError } from '@drkit/errors';

export const TarErrorCode = {
  FORMAT: 'TAR_FORMAT',
} as const;
export type TarErrorCode = (typeof TarErrorCode)[keyof typeof TarErrorCode];

/** A header, data or end-of-archive problem; the caller names the entry it happened at. */
export class TarFormatError extends DrkitError<TarErrorCode> {
  constructor(message: string) {
    super(TarErrorCode.FORMAT, message, { hint: 'The tar stream is damaged or truncated: read another copy.' });
  }
}
