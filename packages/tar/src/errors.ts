export const TarErrorCode = {
  FORMAT: 'TAR_FORMAT',
} as const;
export type TarErrorCode = (typeof TarErrorCode)[keyof typeof TarErrorCode];

/**
 * A header, data or end-of-archive problem. Not a DrkitError on purpose: it is damage at a place in
 * a stream, which the caller turns into its own error naming the archive and the entry (restore and
 * salvage pass DrkitErrors through as they are, and wrap every other error as a damaged entry).
 */
export class TarFormatError extends Error {
  readonly code = TarErrorCode.FORMAT;

  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}
