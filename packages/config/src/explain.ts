import type * as z from 'zod';
import { type ConfigIssue, formatPath } from './errors.js';
import { fieldHints } from './schema.js';

/** A value as users wrote it: strings quoted, containers named. */
function show(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return value.length ? 'a list' : 'an empty list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** `keep_daily: 7` for a key, `- 7` for a list item: what to type at that spot. */
function exampleAt(path: readonly PropertyKey[], example: string): string {
  const last = path.at(-1);
  return typeof last === 'number' ? `- ${example}` : `${String(last)}: ${example}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** The allowed key a misspelt one was probably meant to be (at most 2 edits, fewer for short keys). */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 2)) + 1;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function oneOf(options: readonly unknown[], value: unknown, path: readonly PropertyKey[]): string {
  const example = exampleAt(path, String(options[0]));
  if (value === undefined) return `required but missing. Fix: add ${example}.`;
  return `expected ${options.length > 1 ? 'one of ' : ''}${options.join(', ')}, got ${show(value)}. Fix: write one of those, e.g. ${example}.`;
}

/**
 * Zod error map: turns each issue into "what is wrong. Fix: what to write". Field-specific wording
 * comes from `fieldHints`; returning undefined keeps zod's own message for anything unforeseen.
 */
export function explain(issue: z.core.$ZodRawIssue): string | undefined {
  const path = issue.path ?? [];
  switch (issue.code) {
    case 'unrecognized_keys': {
      // Several unknown keys become several lines; toIssues splits them.
      const allowed = Object.keys((issue.inst as z.ZodObject).shape);
      return issue.keys
        .map((unknown) => {
          const guess = closest(unknown, allowed);
          return `unknown key "${unknown}". ${guess ? `Did you mean "${guess}"?` : 'Fix: remove it.'} Allowed keys: ${allowed.join(', ')}.`;
        })
        .join('\n');
    }
    case 'invalid_union': {
      // Only the discriminated `sources[].type` union exists, so the bad part is its `type` value.
      const options = issue.options as readonly unknown[] | undefined;
      return options && oneOf(options, (issue.input as Record<string, unknown> | null)?.[issue.discriminator ?? ''], path);
    }
    case 'invalid_value':
      return oneOf(issue.values as readonly unknown[], issue.input, path);
  }
  if (path.length === 0) {
    return issue.input === null || issue.input === undefined
      ? 'the config is empty. Fix: add at least a sources list, e.g. sources: [{ name: data, type: files, path: ./data }], or run "drkit init" for a template.'
      : `expected settings as key: value lines, got ${show(issue.input)}. Fix: start from "drkit init" or the README example.`;
  }
  const hint = fieldHints.get(issue.schema ?? (issue.inst as z.ZodType));
  if (issue.input === undefined) return `required but missing. Fix: add ${exampleAt(path, hint?.example ?? '...')}.`;
  if (!hint) return undefined;
  return `expected ${hint.expected}, got ${show(issue.input)}. Fix: write ${hint.write}, e.g. ${exampleAt(path, hint.example)}.`;
}

/** Zod's final issues as config issues, one per problem. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  return issues.flatMap((issue) => issue.message.split('\n').map((message) => ({ path: formatPath(issue.path), message })));
}
