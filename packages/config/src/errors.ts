import { DrkitError } from '@drkit/errors';

export const ConfigErrorCode = {
  NOT_FOUND: 'CONFIG_NOT_FOUND',
  PARSE: 'CONFIG_PARSE',
  INVALID: 'CONFIG_INVALID',
  ENV_MISSING: 'CONFIG_ENV_MISSING',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** One problem in a config; `path` is like `sources[0].exclude` ('' for the whole file or a syntax error). */
export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class ConfigError extends DrkitError<ConfigErrorCode> {}

/** `sources[0].exclude` from zod's `['sources', 0, 'exclude']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

/** One line per issue, each naming the file and where in it, so users can fix everything in one pass. */
export function issuesError(
  code: ConfigErrorCode,
  file: string | undefined,
  issues: ConfigIssue[],
  hint?: string,
): ConfigError {
  const lines = issues.map((issue) => {
    const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column}`;
    return [where, issue.path, issue.message].filter(Boolean).join(': ');
  });
  return new ConfigError(code, lines.join('\n'), { hint, details: { file, issues } });
}
