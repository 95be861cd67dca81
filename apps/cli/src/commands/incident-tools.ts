import { DEFAULT_LOG_PATTERNS, rotateSecrets, scanLogs } from '@drkit/runbooks';
import { usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, say, table } from '../output.js';

/** `drkit secrets rotate`: new random values for the keys; the old file kept beside it; values never printed. */
export async function rotate(
  _args: unknown[],
  opts: GlobalOptions & { envFile: string; keys: string },
): Promise<ExitCode> {
  const keys = opts.keys
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (!keys.length) throw usage('--keys needs at least one key name.', 'e.g. --keys JWT_SECRET,AUTH_PASSWORD');
  const result = await rotateSecrets(opts.envFile, keys);
  if (opts.json) printJson(result);
  else {
    say(
      `rotated ${result.rotated.join(', ')} in ${result.env_file}; the previous file is ${result.previous} (mode 0600)`,
    );
    say('restart the service so it reads the new values, and delete the previous file once it is no longer needed');
  }
  return ExitCode.OK;
}

/** `drkit logs scan`: counts, first/last seen, top IPs and users per pattern. */
export async function scan(
  _args: unknown[],
  opts: GlobalOptions & { glob: string[]; pattern: string[] },
): Promise<ExitCode> {
  if (!opts.glob.length)
    throw usage('--glob is required.', "e.g. --glob 'logs/**/*.log' (repeatable; .gz files are read too)");
  const report = await scanLogs(opts.glob, opts.pattern.length ? opts.pattern : DEFAULT_LOG_PATTERNS);
  if (opts.json) printJson(report);
  else {
    say(`scanned ${report.files} file(s), ${report.lines} lines`);
    table(
      ['PATTERN', 'COUNT', 'FIRST SEEN', 'LAST SEEN', 'TOP IPS', 'TOP USERS'],
      report.matches.map((m) => [
        m.pattern,
        String(m.count),
        m.first_seen ?? '',
        m.last_seen ?? '',
        m.top_ips
          .slice(0, 3)
          .map((x) => `${x.ip} (${x.count})`)
          .join(', '),
        m.top_users
          .slice(0, 3)
          .map((x) => `${x.user} (${x.count})`)
          .join(', '),
      ]),
    );
  }
  return ExitCode.OK;
}
