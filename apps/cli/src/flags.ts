import { InvalidArgumentError } from 'commander';
import { parseDuration } from '@drkit/config/duration';
import { tagProblem } from '@drkit/repository';
import { usage } from './usage.js';

/**
 * The one parser for numeric command-line values. Commander calls these while parsing, so a bad
 * value is a usage error (exit 2) naming the flag, before any command runs.
 */
const WHOLE = 'a whole number ≥ 0, e.g. 7';
const DURATION = 'a duration: whole numbers with a unit (s, m, h, d, w, y), e.g. 30s, 5m, 12h or 1d12h';

function wholeOrUndefined(text: string): number | undefined {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

function durationOrUndefined(text: string): number | undefined {
  try {
    return parseDuration(text.trim());
  } catch {
    return undefined;
  }
}

/** `--keep-last 7`: a whole number ≥ 0; `abc`, `-1`, `1.5`, `1e3` and `` are refused. */
export function wholeNumber(text: string): number {
  const n = wholeOrUndefined(text);
  if (n === undefined) throw new InvalidArgumentError(`Expected ${WHOLE}.`);
  return n;
}

/** A repeatable whole-number flag (`--db 0 --db 2`). */
export function wholeNumbers(text: string, previous: number[]): number[] {
  return [...previous, wholeNumber(text)];
}

/** `--wait 5m`, `--keep-within 30d`: milliseconds. */
export function duration(text: string): number {
  const ms = durationOrUndefined(text);
  if (ms === undefined) throw new InvalidArgumentError(`Expected ${DURATION}.`);
  return ms;
}

// A zone is required: a bare local time would mean another instant on another host.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** `backup --time 2026-11-20T03:00:00Z`: an ISO 8601 time with a zone, not in the future. */
export function pastTime(text: string): Date {
  const time = ISO_TIME.test(text.trim()) ? new Date(text.trim()) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime()))
    throw new InvalidArgumentError('Expected an ISO 8601 time with a zone, e.g. 2026-11-20T03:00:00Z.');
  // A snapshot dated ahead would stay the newest one (for latest, incrementals and retention) until then.
  if (time.getTime() > Date.now())
    throw new InvalidArgumentError(
      `${time.toISOString()} is in the future; give the time the data was current, now or earlier.`,
    );
  return time;
}

/** `--tag T`, `--add T` (repeatable): a tag the repository can store; `` is refused. */
export function tags(text: string, previous: string[]): string[] {
  const problem = tagProblem(text);
  if (problem) throw new InvalidArgumentError(`The tag ${JSON.stringify(text)} ${problem}.`);
  return [...previous, text];
}

/** A whole-number environment knob (e.g. DRKIT_S3_MAX_ATTEMPTS); unset or empty is undefined. */
export function wholeNumberFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = wholeOrUndefined(text);
  if (n === undefined) throw usage(`${name} is ${JSON.stringify(text)}: expected ${WHOLE}.`, `Fix or unset ${name}.`);
  return n;
}
