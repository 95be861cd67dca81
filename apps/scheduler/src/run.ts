import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readConfig, schedulerSettings } from '@drkit/config';
import { isDrkitError } from '@drkit/errors';
import { createChannels } from '@drkit/notify';
import { Daemon, jsonLogger, leaseSettings } from '@drkit/scheduler';
import { DEFAULT_STATE_LOCATION, openLeaseBackend, openStateStore } from '@drkit/state';

const USAGE =
  `Usage: drkit-scheduler [--config FILE] [--listen HOST:PORT] [--state LOCATION] [--drkit PATH] ` +
  `[--monitor NAME] [--log-level LEVEL]

Runs the DR plan (the config's schedule:, else the plan's defaults), watches the RPO, runs the
failover monitor when failover: is configured (as --monitor NAME, env DRKIT_FAILOVER_MONITOR,
default the host name), and serves
/metrics, /healthz, /readyz, /status, /status.json, POST /alertmanager and the operator page (/).
SIGTERM or SIGINT: no new jobs, the running one finishes within scheduler.shutdown_grace (else it
is stopped cleanly), then exit 0. Exit 1: it could not start (the message says why); 2: bad flags.`;

/** The drkit CLI jobs run: --drkit, DRKIT_BIN, else the workspace's. */
function drkitMain(given: string | undefined): string {
  if (given) return path.resolve(given);
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('drkit/package.json')), 'dist/main.js');
}

async function main(): Promise<number> {
  let flags: ReturnType<typeof parse>;
  try {
    flags = parse();
  } catch (error) {
    process.stderr.write(`drkit-scheduler: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = jsonLogger({ level: flags['log-level'] });
  let closeStore = async () => {};
  const configFile = flags.config ?? process.env.DRKIT_CONFIG ?? 'drkit.config.yaml';
  let daemon: Daemon;
  try {
    const config = await readConfig(configFile);
    const drkit = drkitMain(flags.drkit ?? process.env.DRKIT_BIN);
    if (!existsSync(drkit)) throw new Error(`the drkit CLI is not at ${drkit}: run pnpm build, or pass --drkit PATH`);
    const stateLocation = flags.state ?? process.env.DRKIT_STATE ?? config.state ?? DEFAULT_STATE_LOCATION;
    const store = await openStateStore(stateLocation);
    const lease = leaseSettings(schedulerSettings(config), stateLocation);
    const leases = await openLeaseBackend(lease.options);
    closeStore = async () => {
      await leases.close();
      await store.close();
    };
    const contacts = config.contacts ?? [];
    daemon = new Daemon({
      config,
      store,
      channels: createChannels(config.notify?.channels ?? {}, {
        contact: (role) => contacts.find((c) => c.role === role),
      }),
      drkit: { command: [process.execPath, drkit], globalArgs: ['--config', path.resolve(configFile)] },
      leases,
      leaseTtlMs: lease.ttlMs,
      listen: flags.listen,
      monitor: flags.monitor,
      log,
    });
    await daemon.start();
  } catch (error) {
    const e = error as Error & { code?: string; hint?: string };
    log.error(
      { code: isDrkitError(error) ? e.code : undefined, hint: e.hint },
      `drkit-scheduler could not start: ${e.message}`,
    );
    process.stderr.write(
      `drkit-scheduler: ${e.message}${isDrkitError(error) ? ` [${e.code}]` : ''}${e.hint ? `\n${e.hint}` : ''}\n`,
    );
    return 1;
  }
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal: stop the running job now (it still rolls back cleanly).
        log.warn({ signal }, 'second signal: stopping the running job now');
        void daemon.stop(0);
        return;
      }
      stopping = true;
      log.info({ signal }, `${signal}: shutting down`);
      daemon.stop().then(
        () => closeStore().then(() => resolve(0)),
        (error) => {
          log.error({ err: error }, `shutdown failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

function parse() {
  return parseArgs({
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      state: { type: 'string' },
      drkit: { type: 'string' },
      monitor: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
}

process.exit(await main());
