import { DrkitError } from '@drkit/errors';

// Kept apart from context.ts so that flag parsing at startup loads no repository code.
export const CliErrorCode = {
  NO_REPO: 'CLI_NO_REPO',
  USAGE: 'CLI_USAGE',
  /** `find` matched no path of the snapshots it searched. */
  NO_MATCH: 'CLI_NO_MATCH',
  /** `config check --connect`: a server the config names did not answer. */
  UNREACHABLE: 'CLI_UNREACHABLE',
} as const;

export function usage(message: string, hint: string): DrkitError {
  return new DrkitError(CliErrorCode.USAGE, message, { hint });
}
