/** Documented in the README; scripts and schedulers rely on them. */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  PARTIAL_BACKUP: 3,
  VERIFY_FAILED: 4,
  /** `restore --salvage` restored what it could; some paths are lost (each is listed). */
  SALVAGED: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
