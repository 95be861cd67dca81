export type RetentionTimeZone = 'UTC' | 'local';

export type BucketRule = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

interface CalendarFields {
  year: number;
  month: number;
  day: number;
  hour: number;
}

function fields(time: Date, zone: RetentionTimeZone): CalendarFields {
  return zone === 'UTC'
    ? { year: time.getUTCFullYear(), month: time.getUTCMonth() + 1, day: time.getUTCDate(), hour: time.getUTCHours() }
    : { year: time.getFullYear(), month: time.getMonth() + 1, day: time.getDate(), hour: time.getHours() };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO 8601 week of a calendar date: weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  // Pure date arithmetic in UTC, so a local date is never shifted by DST.
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const weekYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 + 1) / 7);
  return { year: weekYear, week };
}

/** The bucket a time falls in, written as it appears in reasons: `2026-11-20 14:00`, `2026-W47`… */
export function bucketOf(rule: BucketRule, time: Date, zone: RetentionTimeZone): string {
  const { year, month, day, hour } = fields(time, zone);
  const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
  switch (rule) {
    case 'hourly':
      return `${date} ${pad(hour)}:00`;
    case 'daily':
      return date;
    case 'weekly': {
      const iso = isoWeek(year, month, day);
      return `${pad(iso.year, 4)}-W${pad(iso.week)}`;
    }
    case 'monthly':
      return `${pad(year, 4)}-${pad(month)}`;
    case 'yearly':
      return pad(year, 4);
  }
}
