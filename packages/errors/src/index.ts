export interface DrkitErrorOptions {
  /** What the user can do about it; shown after the message. */
  hint?: string;
  cause?: unknown;
  /** Structured facts (paths, ids) for `--json` output; never secrets. */
  details?: Record<string, unknown>;
}

/**
 * Base of every error drkit throws at a package edge. Callers match on `code`, never on the
 * message; the message says what happened and `hint` says what to do next.
 */
export class DrkitError<C extends string = string> extends Error {
  readonly code: C;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: DrkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isDrkitError(value: unknown): value is DrkitError {
  return value instanceof Error && typeof (value as { code?: unknown }).code === 'string' && 'hint' in value;
}

/** The errno code of a Node system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export {
  FAILPOINT_ACTIONS,
  FAILPOINTS,
  type Failpoint,
  type FailpointAction,
  failpoint,
  failpointArmed,
} from './failpoints.js';
