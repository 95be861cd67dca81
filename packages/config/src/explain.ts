import type * as z from 'zod';
import { type ConfigIssue, formatPath } from './errors.js';
import { fieldHints } from './hints.js';

// Keys whose values are secrets (password, passphrase, secret_access_key, session_token, a Slack
// webhook URL, PagerDuty's routing key, webhook headers…): never echoed.
const SECRET_KEY =
  /pass(word|phrase)?|secret|token|access_key|api_?key|credential|auth|routing_key|webhook_url|headers/i;

/** True when the value at `path` is, or lies under, a key that holds a secret. */
function isSecret(path: readonly PropertyKey[]): boolean {
  return path.some((key) => typeof key === 'string' && SECRET_KEY.test(key));
}

/**
 * `redis://user:pw@host` → `redis://***@host`, and a bare `user:pw@host` → `***@host`, up to the last `@` (passwords
 * may hold `@` or `/`).
 */
function maskCredentials(text: string): string {
  if (text.includes('://')) return text.replace(/([a-z][a-z0-9+.-]*:\/\/)\S*@/gi, '$1***@');
  return text.replace(/^[^\s/@:]+:\S*@/, '***@');
}

/** A value as users wrote it: strings quoted, containers named; secrets and URL credentials as ***. */
function show(value: unknown, path: readonly PropertyKey[]): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return value.length ? 'a list' : 'an empty list';
  if (typeof value === 'object') return 'a mapping';
  if (isSecret(path)) return '***';
  return typeof value === 'string' ? JSON.stringify(maskCredentials(value)) : String(value);
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
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** The allowed key a misspelt one was probably meant to be (at most 2 edits, fewer for short keys). */
export function closest(key: string, allowed: readonly string[]): string | undefined {
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
  return (
    `expected ${options.length > 1 ? 'one of ' : ''}${options.join(', ')}, got ${show(value, path)}. Fix: ` +
    `write one of those, e.g. ${example}.`
  );
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
          return (
            `unknown key "${unknown}". ${guess ? `Did you mean "${guess}"?` : 'Fix: remove it.'} Allowed ` +
            `keys: ${allowed.join(', ')}.`
          );
        })
        .join('\n');
    }
    case 'invalid_union': {
      // A discriminated union (e.g. sources[].type): the path ends at the key that decides, the input is the mapping.
      const options = issue.options as readonly unknown[] | undefined;
      if (options && issue.discriminator !== undefined) {
        const input = issue.input;
        const value =
          input !== null && typeof input === 'object' && !Array.isArray(input)
            ? (input as Record<string, unknown>)[issue.discriminator]
            : undefined;
        return oneOf(options, value, path);
      }
      // Any other union (tls, dbs…): the field's hint below, else the forms its alternatives take.
      if (!fieldHints.has(issue.inst as z.ZodType)) return unionForms(issue.errors, issue.input, path);
      break;
    }
    case 'invalid_value':
      return oneOf(issue.values as readonly unknown[], issue.input, path);
  }
  if (path.length === 0) {
    return issue.input === null || issue.input === undefined
      ? 'the config is empty. Fix: add at least a sources list, e.g. sources: [{ name: data, type: files, ' +
          'path: ./data }], or run "drkit init" for a template.'
      : `expected settings as key: value lines, got ${show(issue.input, path)}. Fix: start from "drkit init" ` +
          `or the README example.`;
  }
  const hint = fieldHints.get(issue.schema ?? (issue.inst as z.ZodType));
  if (issue.input === undefined) return `required but missing. Fix: add ${exampleAt(path, hint?.example ?? '...')}.`;
  if (!hint) return undefined;
  return (
    `expected ${hint.expected}, got ${show(issue.input, path)}. Fix: write ${hint.write}, ` +
    `e.g. ${exampleAt(path, hint.example)}.`
  );
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/**
 * "expected true or false or a mapping, got "yes"" from each
 * alternative's first complaint; undefined keeps zod's message.
 */
function unionForms(
  errors: readonly (readonly z.core.$ZodIssue[])[] | undefined,
  input: unknown,
  path: readonly PropertyKey[],
): string | undefined {
  const forms = (errors ?? []).map(([first]) => {
    if (first?.code === 'invalid_type') return TYPE_WORDS[first.expected] ?? first.expected;
    if (first?.code === 'invalid_value') return first.values.map((v) => JSON.stringify(v)).join(' or ');
    return undefined;
  });
  if (forms.length === 0 || forms.some((f) => f === undefined)) return undefined;
  return (
    `expected ${[...new Set(forms)].join(' or ')}, got ${show(input, path)}. Fix: write one of those forms ` +
    `(see the README).`
  );
}

/** Zod's final issues as config issues, one per problem. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  return issues.flatMap((issue) =>
    issue.message.split('\n').map((message) => ({ path: formatPath(issue.path), message })),
  );
}
