import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '@drkit/errors';
import { RunbookError, RunbookErrorCode } from './errors.js';

export interface RotateResult {
  env_file: string;
  rotated: string[];
  /** The file as it was, kept beside it with mode 0600. */
  previous: string;
}

// KEY=value, optionally after `export `; the value runs to the end of the line.
const LINE = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$/;

/**
 * Gives each listed key of an env file a new random value (32 bytes, base64url). The old file is
 * kept beside it (`F.<time>.old`, mode 0600) and the new one replaces it whole (same mode).
 * Values are never returned or printed.
 */
export async function rotateSecrets(
  envFile: string,
  keys: string[],
  now: () => number = Date.now,
): Promise<RotateResult> {
  let text: string;
  let mode: number;
  try {
    text = await readFile(envFile, 'utf8');
    mode = (await stat(envFile)).mode & 0o7777;
  } catch (e) {
    throw new RunbookError(
      RunbookErrorCode.SECRETS,
      `Cannot read the env file ${envFile} (${errnoCode(e) ?? (e as Error).message}).`,
      { hint: 'Give the path of the env file the service reads its secrets from: --env-file FILE.' },
    );
  }
  const wanted = new Set(keys);
  const seen = new Set<string>();
  const lines = text.split('\n').map((line) => {
    const m = LINE.exec(line);
    if (!m || !wanted.has(m[2]!)) return line;
    seen.add(m[2]!);
    return `${m[1]}${m[2]}${m[3]}${randomBytes(32).toString('base64url')}`;
  });
  const missing = keys.filter((k) => !seen.has(k));
  if (missing.length)
    throw new RunbookError(RunbookErrorCode.SECRETS, `${envFile} has no ${missing.join(', ')}: nothing was changed.`, {
      hint: 'Name only keys the file defines (KEY=value lines), or add them to it first.',
    });
  const previous = `${envFile}.${new Date(now()).toISOString().replace(/[-:]|\.\d+/g, '')}.old`;
  await copyFile(envFile, previous);
  await chmod(previous, 0o600);
  const tmp = path.join(path.dirname(envFile), `.${path.basename(envFile)}.${process.pid}.tmp`);
  await writeFile(tmp, lines.join('\n'), { mode: 0o600 });
  await chmod(tmp, mode);
  await rename(tmp, envFile);
  return { env_file: envFile, rotated: keys, previous };
}
