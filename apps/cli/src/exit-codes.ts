/** Documented in the README; scripts and schedulers rely on them. */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  PARTIAL_BACKUP: 3,
  VERIFY_FAILED: 4,
  /** `restore --salvage` restored what it could; some paths are lost (each is listed). */
  SALVAGED: 5,
  /** 128 + the signal's number, as a shell reports a process it stopped. */
  SIGINT: 130,
  SIGTERM: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table `drkit --help` ends with; the README has the same one. */
export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    error: the message says what happened and what to do (--json: a stable code)
  2    usage error: bad flags or values, nothing to back up
  3    partial backup: some paths (or, with --emergency, Redis keys) could not be read
  4    verify found a damaged or missing archive or entry
  5    restore --salvage restored what it could; the paths lost are listed
  130  interrupted by SIGINT (Ctrl-C): stopped at a safe point and rolled back what it could;
       one line says what is left and the command that finishes the job
  143  interrupted by SIGTERM: the same`;
