import { spawn } from 'node:child_process';
import type { DrkitConfig } from '@drkit/config';
import type { Failover, FailoverStatus, RestoreOutcome } from '@drkit/failover';
import type { Notifier } from '@drkit/notify';
import type { StateStore } from '@drkit/state';
import type { HostedService } from './daemon.js';
import type { CliExecutorOptions } from './executor.js';
import type { Logger } from './logger.js';
import type { SchedulerMetrics } from './metrics.js';

export interface FailoverServiceOptions {
  config: DrkitConfig;
  store: StateStore;
  notifier: Notifier;
  /** How the restore step runs drkit (`drkit failover restore --step N --json`, a child as jobs are). */
  drkit: CliExecutorOptions;
  /** This monitor's name (--monitor); else DRKIT_FAILOVER_MONITOR, else the host name. */
  monitor?: string;
  log: Logger;
}

/**
 * The failover monitor loop `drkit failover monitor` runs (@drkit/failover's openFailover and
 * monitorLoop), hosted by the daemon when `failover:` is configured. @drkit/failover loads only
 * here, so a daemon without failover never imports it. Stopping aborts a sequence under way and
 * releases the site's lease before the daemon releases its own.
 */
export function failoverService(options: FailoverServiceOptions): HostedService {
  const stop = new AbortController();
  let opened: { failover: Failover; close: () => Promise<void> } | undefined;
  let loop: Promise<void> | undefined;
  let states: readonly string[] = [];
  let lastError: string | undefined;
  const { log } = options;
  return {
    name: 'failover',
    async start() {
      const { FAILOVER_STATES, openFailover } = await import('@drkit/failover');
      states = FAILOVER_STATES;
      opened = await openFailover({
        config: options.config,
        store: options.store,
        notifier: options.notifier,
        deliver: async () => {
          await options.notifier.deliver();
        },
        ...(options.monitor ? { monitor: options.monitor } : {}),
        restore: (index, signal) => restoreInChild(options.drkit, index, signal, log),
        log: (line) => {
          lastError = line;
          log.warn({}, line);
        },
      });
      const { failover } = opened;
      log.info(
        { site: failover.settings.site, monitor: failover.monitor },
        `failover: monitoring site ${failover.settings.site} as ${failover.monitor}`,
      );
      let last = '';
      loop = failover.monitorLoop(stop.signal, (tick) => {
        lastError = undefined;
        if (tick.state !== last)
          log.info(
            { site: failover.settings.site, state: tick.state, reason: tick.verdict.reason },
            `failover: site ${failover.settings.site} is ${tick.state}` +
              `${tick.verdict.reason ? `: ${tick.verdict.reason}` : ''}`,
          );
        if (tick.acted)
          log.warn(
            { site: failover.settings.site, run: tick.acted },
            `failover: the sequence of epoch ${tick.acted.epoch} is ${tick.acted.outcome}`,
          );
        last = tick.state;
      });
    },
    async stop() {
      stop.abort();
      await loop;
      await opened?.close();
    },
    async collect(metrics: SchedulerMetrics) {
      if (!opened) return;
      const status = await opened.failover.status();
      for (const state of states)
        metrics.failoverState.set({ site: status.site, state }, status.state === state ? 1 : 0);
      metrics.failoverEpoch.set({ site: status.site }, status.epoch);
    },
    async status() {
      if (!opened) return { problem: 'failover: not started' };
      const status: FailoverStatus = await opened.failover.status();
      return { failover: status, ...(lastError ? { problem: lastError } : {}) };
    },
  };
}

/**
 * `drkit failover restore --step N --json` in a child process: its JSON is the outcome; an abort stops it with SIGTERM.
 */
function restoreInChild(
  drkit: CliExecutorOptions,
  index: number,
  signal: AbortSignal,
  log: Logger,
): Promise<RestoreOutcome> {
  const [bin, ...pre] = drkit.command;
  const child = spawn(
    bin!,
    [...pre, ...(drkit.globalArgs ?? []), 'failover', 'restore', '--step', String(index + 1), '--json'],
    {
      env: { ...process.env, ...drkit.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    for (const line of d.split('\n')) if (line.trim()) log.info({ stream: 'stderr', step: index + 1 }, line);
  });
  const kill = () => child.kill('SIGTERM');
  signal.addEventListener('abort', kill, { once: true });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      signal.removeEventListener('abort', kill);
      let json: (RestoreOutcome & { error?: { message?: string; code?: string } }) | undefined;
      try {
        json = JSON.parse(stdout);
      } catch {}
      if (code === 0 && json?.snapshot) resolve(json);
      else
        reject(
          new Error(
            json?.error?.message
              ? `${json.error.message}${json.error.code ? ` [${json.error.code}]` : ''}`
              : `drkit failover restore exited ${code}`,
          ),
        );
    });
  });
}
