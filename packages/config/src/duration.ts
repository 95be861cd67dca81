import { ConfigError, ConfigErrorCode } from './errors.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 365 * 86_400_000 } as const;

export const DURATION_UNITS = 's = seconds, m = minutes, h = hours, d = days, w = weeks, y = 365 days';

/** Milliseconds in `30d`, `12h`, `1w2d`…, or undefined when the text is not such a duration. */
export function durationMs(text: string): number | undefined {
  if (!/^(\d+[smhdwy])+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, count, unit] of text.matchAll(/(\d+)([smhdwy])/g))
    ms += Number(count) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Milliseconds in a duration like `30d`, `12h`, `1w`, `90m` or `1d12h`; throws CONFIG_INVALID otherwise. */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) {
    throw new ConfigError(
      ConfigErrorCode.INVALID,
      `invalid duration ${JSON.stringify(text)}: expected whole numbers with a unit (${DURATION_UNITS}).`,
      {
        hint: 'Write a duration like 30d, 12h, 1w, 90m or 1d12h.',
        details: { value: text },
      },
    );
  }
  return ms;
}
