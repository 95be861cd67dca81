import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errnoCode } from '@drkit/errors';
import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError, ConfigErrorCode, type ConfigIssue, formatPath, issuesError } from './errors.js';
import { explain, toIssues } from './explain.js';
import { type RunbookConfig, runbookSchema } from './runbook-schema.js';
import { configSchema, type DrkitConfig, isLocationUrl, type SourceConfig } from './schema.js';

export interface ValidateOptions {
  /** Shown at the start of every error line; also the default base for relative paths. */
  file?: string;
  /** Folder that relative paths resolve against; defaults to the file's folder, else the working directory. */
  baseDir?: string;
}

/** Checks a parsed config, fills defaults and makes paths absolute. Throws CONFIG_INVALID listing every problem. */
export function validateConfig(value: unknown, opts: ValidateOptions = {}): DrkitConfig {
  const result = configSchema.safeParse(value, { error: explain });
  if (!result.success) throw issuesError(ConfigErrorCode.INVALID, opts.file, toIssues(result.error.issues));
  const config = result.data;
  const baseDir = opts.baseDir ?? (opts.file ? dirname(resolve(opts.file)) : process.cwd());
  const repo = config.repository;
  if (typeof repo === 'string' && !isLocationUrl(repo)) config.repository = resolve(baseDir, repo);
  else if (typeof repo === 'object' && repo.path) repo.path = resolve(baseDir, repo.path);
  else if (typeof repo === 'object' && repo.url && !isLocationUrl(repo.url)) repo.url = resolve(baseDir, repo.url);
  if (config.signing_key) config.signing_key = resolve(baseDir, config.signing_key);
  if (config.state !== undefined && !isLocationUrl(config.state)) config.state = resolve(baseDir, config.state);
  resolveFailoverPaths(config.failover, baseDir);
  if (config.scheduler?.lease?.backend === 'file')
    config.scheduler.lease.path = resolve(baseDir, config.scheduler.lease.path);
  for (const channel of Object.values(config.notify?.channels ?? {}))
    if (channel.type === 'email' && channel.ca_file) channel.ca_file = resolve(baseDir, channel.ca_file);
  const page = config.status_page;
  if (page?.target !== undefined && !isLocationUrl(page.target)) page.target = resolve(baseDir, page.target);
  if (config.drill?.sandbox !== undefined) config.drill.sandbox = resolve(baseDir, config.drill.sandbox);
  for (const source of config.sources) {
    if (source.type === 'files') source.path = resolve(baseDir, source.path);
    else if (typeof source.tls === 'object' && source.tls.ca_file)
      source.tls.ca_file = resolve(baseDir, source.tls.ca_file);
  }
  return config;
}

/** The failover lease folder and restore targets that are folders, relative to the config file. */
function resolveFailoverPaths(failover: DrkitConfig['failover'], baseDir: string): void {
  if (failover?.lease.backend === 'file') failover.lease.path = resolve(baseDir, failover.lease.path);
  for (const step of failover?.steps ?? []) {
    const target = (step as { restore?: { target?: Record<string, string> } }).restore?.target ?? {};
    for (const [name, where] of Object.entries(target))
      if (!isLocationUrl(where)) target[name] = resolve(baseDir, where);
  }
}

// `${VAR}` or `${VAR:-default}`; the default also applies when VAR is set but empty, as in shells.
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** An unset variable: where it is used in the file, and the issue to report when that value is read. */
interface Unset {
  path: PropertyKey[];
  issue: ConfigIssue;
}

/**
 * Expands `${VAR}` in string values only, so a variable can
 * never add YAML structure; unset ones are listed, not thrown.
 */
function interpolate(value: unknown, env: NodeJS.ProcessEnv): { value: unknown; unset: Unset[] } {
  const unset: Unset[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(ENV_REFERENCE, (reference, name: string, fallback: string | undefined) => {
        const set = env[name];
        if (set !== undefined && (set !== '' || fallback === undefined)) return set;
        if (fallback !== undefined) return fallback;
        unset.push({
          path,
          issue: {
            path: formatPath(path),
            message:
              `environment variable ${name} is not set. Fix: set it (export ${name}=...) or give a default: ` +
              `\${${name}:-value}.`,
          },
        });
        return reference;
      });
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
    return node;
  };
  return { value: walk(value, []), unset };
}

/**
 * Validates a config whose unset variables fail only the part that holds them (one source, or
 * one top-level key such as `repository`), and only when a command reads that part: an ad-hoc
 * backup, `snapshots` or `verify` never need the variables of sources they do not use.
 */
function validateDeferringUnset(value: unknown, unset: Unset[], file: string): DrkitConfig {
  if (unset.length === 0) return validateConfig(value, { file });
  const inSource = (u: Unset) => u.path[0] === 'sources' && typeof u.path[1] === 'number';
  // The whole file, or the whole `sources:`, from one variable: nothing can be used without it.
  if (
    value === null ||
    typeof value !== 'object' ||
    unset.some((u) => u.path.length === 0 || (u.path[0] === 'sources' && !inSource(u)))
  )
    throw issuesError(
      ConfigErrorCode.ENV_MISSING,
      file,
      unset.map((u) => u.issue),
    );
  const parts = new Map<string | number, Unset[]>();
  for (const u of unset) {
    const part = inSource(u) ? (u.path[1] as number) : String(u.path[0]);
    parts.set(part, [...(parts.get(part) ?? []), u]);
  }
  const root: Record<string, unknown> = { ...value };
  const sources = Array.isArray(root.sources) ? [...root.sources] : [];
  for (const [part, list] of parts) {
    if (typeof part === 'string') delete root[part];
    else {
      // Validated as a placeholder that keeps its name, so duplicate names are still caught.
      const named = !list.some((u) => u.path[2] === 'name') && typeof sources[part]?.name === 'string';
      sources[part] = { name: named ? sources[part].name : `unset-${part}`, type: 'files', path: '.' };
    }
  }
  if (Array.isArray(root.sources)) root.sources = sources;
  const config = validateConfig(root, { file });
  for (const [part, list] of parts) {
    const error = issuesError(
      ConfigErrorCode.ENV_MISSING,
      file,
      list.map((u) => u.issue),
    );
    if (typeof part === 'string')
      Object.defineProperty(config, part, {
        enumerable: true,
        get: () => {
          throw error;
        },
      });
    else
      config.sources[part] = unusableSource(
        (value as { sources: Array<Record<string, unknown>> }).sources[part]!,
        list,
        error,
      );
  }
  return config;
}

/** A source that needs an unset variable: its name and type can be read (to find it), anything else throws. */
function unusableSource(raw: Record<string, unknown>, unset: Unset[], error: ConfigError): SourceConfig {
  const known = new Map(
    ['name', 'type'].filter((key) => !unset.some((u) => u.path[2] === key)).map((key) => [key, raw[key]]),
  );
  const fail = () => {
    throw error;
  };
  return new Proxy(raw, {
    get: (_target, key) => {
      if (typeof key === 'symbol' || key === 'then') return undefined;
      return known.has(key) ? known.get(key) : fail();
    },
    ownKeys: fail,
    has: fail,
  }) as unknown as SourceConfig;
}

function syntaxIssue(error: YAMLError): ConfigIssue {
  // yaml's message is "<problem> at line L, column C:" plus a code frame; keep the problem, report L:C ourselves.
  const problem = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '');
  const start = error.linePos?.[0];
  return { path: '', line: start?.line, column: start?.col, message: `${problem}.` };
}

const SYNTAX_HINT =
  'Fix the YAML syntax where shown: check indentation (spaces, not tabs), the space after each colon, and ' +
  'quote values that contain ": " or " #".';

/** Parses YAML (or JSON) text, expands `${VAR}` from `env`, then validates; `file` names the source in errors. */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): DrkitConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw issuesError(ConfigErrorCode.PARSE, file, doc.errors.map(syntaxIssue), SYNTAX_HINT);
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (cause) {
    // e.g. an alias to an anchor that does not exist; yaml reports these only while converting.
    throw issuesError(
      ConfigErrorCode.PARSE,
      file,
      [{ path: '', message: `${(cause as Error).message}.` }],
      SYNTAX_HINT,
    );
  }
  const expanded = interpolate(value, env);
  return validateDeferringUnset(expanded.value, expanded.unset, file);
}

/** Parses and validates one runbook (a built-in runbook file); errors as the config's, naming `file`. */
export function parseRunbookText(text: string, file: string): RunbookConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw issuesError(ConfigErrorCode.PARSE, file, doc.errors.map(syntaxIssue), SYNTAX_HINT);
  const result = runbookSchema.safeParse(doc.toJS(), { error: explain });
  if (!result.success) throw issuesError(ConfigErrorCode.INVALID, file, toIssues(result.error.issues));
  return result.data;
}

/** Reads and validates a config file (YAML or JSON). Throws ConfigError. */
export async function readConfig(path: string, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<DrkitConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = errnoCode(cause);
    const absent = code === 'ENOENT' || code === 'ENOTDIR';
    throw new ConfigError(
      ConfigErrorCode.NOT_FOUND,
      absent
        ? `${path}: config file not found (looked for ${resolve(path)}).`
        : `${path}: cannot read the config file (${code ?? String(cause)}).`,
      {
        cause,
        hint: absent
          ? 'Check --config / DRKIT_CONFIG, or write the file: it names the repository and the sources (see ' +
            'the README; `drkit init` creates a repository, not a config).'
          : 'Check that the path is a readable file, or pass --config <path>.',
        details: { file: resolve(path) },
      },
    );
  }
  return parseConfigText(text, path, opts.env);
}
