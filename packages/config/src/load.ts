import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errnoCode } from '@drkit/errors';
import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError, ConfigErrorCode, type ConfigIssue, formatPath, issuesError } from './errors.js';
import { explain, toIssues } from './explain.js';
import { configSchema, type DrkitConfig, isLocationUrl } from './schema.js';

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
  for (const source of config.sources) {
    if (source.type === 'files') source.path = resolve(baseDir, source.path);
    else if (typeof source.tls === 'object' && source.tls.ca_file) source.tls.ca_file = resolve(baseDir, source.tls.ca_file);
  }
  return config;
}

// `${VAR}` or `${VAR:-default}`; the default also applies when VAR is set but empty, as in shells.
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Expands `${VAR}` in string values only, so a variable can never add YAML structure. */
function interpolate(value: unknown, file: string, env: NodeJS.ProcessEnv): unknown {
  const missing: ConfigIssue[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(ENV_REFERENCE, (reference, name: string, fallback: string | undefined) => {
        const set = env[name];
        if (set !== undefined && (set !== '' || fallback === undefined)) return set;
        if (fallback !== undefined) return fallback;
        missing.push({
          path: formatPath(path),
          message: `environment variable ${name} is not set. Fix: set it (export ${name}=...) or give a default: \${${name}:-value}.`,
        });
        return reference;
      });
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
    return node;
  };
  const result = walk(value, []);
  if (missing.length > 0) throw issuesError(ConfigErrorCode.ENV_MISSING, file, missing);
  return result;
}

function syntaxIssue(error: YAMLError): ConfigIssue {
  // yaml's message is "<problem> at line L, column C:" plus a code frame; keep the problem, report L:C ourselves.
  const problem = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '');
  const start = error.linePos?.[0];
  return { path: '', line: start?.line, column: start?.col, message: `${problem}.` };
}

const SYNTAX_HINT = 'Fix the YAML syntax where shown: check indentation (spaces, not tabs), the space after each colon, and quote values that contain ": " or " #".';

/** Parses YAML (or JSON) text, expands `${VAR}` from `env`, then validates; `file` names the source in errors. */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): DrkitConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw issuesError(ConfigErrorCode.PARSE, file, doc.errors.map(syntaxIssue), SYNTAX_HINT);
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (cause) {
    // e.g. an alias to an anchor that does not exist; yaml reports these only while converting.
    throw issuesError(ConfigErrorCode.PARSE, file, [{ path: '', message: `${(cause as Error).message}.` }], SYNTAX_HINT);
  }
  return validateConfig(interpolate(value, file, env), { file });
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
      absent ? `${path}: config file not found (looked for ${resolve(path)}).` : `${path}: cannot read the config file (${code ?? String(cause)}).`,
      {
        cause,
        hint: absent ? 'Run "drkit init" to create one, or pass --config <path> to use another file.' : 'Check that the path is a readable file, or pass --config <path>.',
        details: { file: resolve(path) },
      },
    );
  }
  return parseConfigText(text, path, opts.env);
}
