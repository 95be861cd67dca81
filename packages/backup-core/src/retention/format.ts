import type { RetentionDecision, RetentionGroup } from './plan.js';

/**
 * One aligned line per snapshot, newest first as planned: `keep|remove  id  time  reasons`.
 * For `drkit forget --dry-run`; no header or totals, so every line is about one snapshot.
 */
export function formatRetention(decisions: readonly RetentionDecision[]): string {
  const rows = decisions.map((d) => [d.keep ? 'keep' : 'remove', d.id, d.time, d.reasons.join(', ')] as const);
  const width = (column: 0 | 1 | 2) => Math.max(0, ...rows.map((row) => row[column].length));
  const widths = [width(0), width(1), width(2)] as const;
  return rows
    .map(
      ([action, id, time, reasons]) =>
        `${action.padEnd(widths[0])}  ${id.padEnd(widths[1])}  ${time.padEnd(widths[2])}  ${reasons}`,
    )
    .join('\n');
}

/** Each group under a line naming it (`host app-1, sources config, data:`), groups apart by a blank line. */
export function formatRetentionGroups(groups: readonly RetentionGroup[]): string {
  return groups
    .map(
      (g) =>
        `host ${g.host || '(none)'}, sources ${g.sources.join(', ') || '(none)'}:\n${formatRetention(g.decisions)}`,
    )
    .join('\n\n');
}
