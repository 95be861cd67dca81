import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import type { DrkitConfig } from '@drkit/config';
import { isDrkitError } from '@drkit/errors';
import { CliErrorCode, loadConfig, openRepo, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { type GlobalOptions, printJson, say } from '../output.js';
import { redisConnectionOf } from '../redis-options.js';
import { storeForLocation } from '../stores.js';

interface Check {
  what: string;
  ok: boolean;
  detail?: string;
  error?: { code: string; message: string; hint?: string };
}

export async function run(
  _args: unknown[],
  opts: GlobalOptions & { connect?: boolean; timeout: number },
): Promise<ExitCode> {
  const config = await loadConfig(opts); // a file that does not parse or validate fails here, with every problem named
  if (!config)
    throw usage(
      'There is no config to check.',
      'Pass --config FILE, set DRKIT_CONFIG, or run it in the folder of drkit.config.yaml.',
    );
  const checks: Check[] = [];
  const check = async (what: string, probe: () => unknown) => {
    try {
      const detail = await probe();
      checks.push({ what, ok: true, ...(typeof detail === 'string' ? { detail } : {}) });
    } catch (err) {
      const e = err as { code?: string; message: string; hint?: string };
      checks.push({
        what,
        ok: false,
        error: {
          code: isDrkitError(err) ? err.code : (e.code ?? 'ERROR'),
          message: e.message,
          ...(e.hint ? { hint: e.hint } : {}),
        },
      });
    }
  };
  // A part that needs an unset ${VAR} throws when read: read every part, as some command would.
  for (const key of Object.keys(config).filter((k) => k !== 'sources'))
    await check(key, () => void JSON.stringify((config as Record<string, unknown>)[key]));
  for (const [i, source] of config.sources.entries()) {
    await check(`source ${source.name ?? i}`, async () => {
      JSON.stringify(source);
      if (source.type !== 'files') return undefined;
      await access(source.path, constants.R_OK).catch((cause) => {
        throw Object.assign(new Error(`${source.path} cannot be read (${cause.code}): a backup would be partial.`), {
          code: 'BACKUP_SOURCE_MISSING',
          hint: 'Fix the path, or create it.',
        });
      });
      return source.path;
    });
  }
  if (opts.connect) await connectChecks(config, opts, check);
  const failed = checks.filter((c) => !c.ok);
  if (opts.json) printJson({ ok: failed.length === 0, connect: opts.connect === true, checks });
  else {
    for (const c of checks)
      say(
        `${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}${c.detail ? `: ${c.detail}` : ''}` +
          `${c.error ? `: ${c.error.message} [${c.error.code}]${c.error.hint ? ` ${c.error.hint}` : ''}` : ''}`,
      );
    say(
      failed.length
        ? `${failed.length} of ${checks.length} check(s) failed`
        : `all ${checks.length} checks passed${opts.connect ? '' : ' (add --connect to reach the servers)'}`,
    );
  }
  return failed.length ? ExitCode.ERROR : ExitCode.OK;
}

async function connectChecks(
  config: DrkitConfig,
  opts: GlobalOptions & { timeout: number },
  check: (what: string, probe: () => unknown) => Promise<void>,
): Promise<void> {
  await check('connect repository', async () => {
    const repo = await openRepo(opts, config);
    return `${repo.store.location} (format ${repo.config.format})`;
  });
  for (const source of config.sources) {
    if (source.type !== 'redis') continue;
    await check(`connect source ${source.name}`, async () => {
      const { RedisConnection } = await import('@drkit/redis-source');
      const conn = await RedisConnection.open({ ...redisConnectionOf(source), connectTimeoutMs: opts.timeout });
      try {
        await conn.client.ping();
        return conn.label;
      } finally {
        await conn.close();
      }
    });
  }
  const target = config.status_page?.target;
  if (target && /^s3:/.test(target))
    await check('connect status_page.target', async () => {
      await storeForLocation(target).stat('index.html');
      return target;
    });
  const { channelEndpoint } = await import('@drkit/notify');
  for (const [name, channel] of Object.entries(config.notify?.channels ?? {})) {
    const at = channelEndpoint(channel);
    if (at)
      await check(`connect channel ${name}`, () =>
        reach(at.host, at.port, opts.timeout).then(() => `${at.host}:${at.port} (nothing sent)`),
      );
  }
}

/** Opens and closes a TCP connection: the host resolves, a route exists and something listens. */
function reach(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        Object.assign(new Error(`${host}:${port} cannot be reached: ${why}.`), {
          code: CliErrorCode.UNREACHABLE,
          hint: 'Check the host name, the network path (firewall, proxy) and that the service is up.',
        }),
      );
    };
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('timeout', () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}
