import { hostname } from 'node:os';
import type { DrkitConfig } from '@drkit/config';
import { openLeaseBackend } from '@drkit/state';
import { FailoverError, FailoverErrorCode } from './errors.js';
import { Failover, type FailoverDeps } from './failover.js';
import { settingsFromConfig } from './settings.js';

/** This monitor's name: the one given (--monitor), else DRKIT_FAILOVER_MONITOR, else the host name. */
export function monitorName(given?: string, env: NodeJS.ProcessEnv = process.env): string {
  return given?.trim() || env.DRKIT_FAILOVER_MONITOR?.trim() || hostname();
}

export interface OpenFailoverOptions extends Omit<FailoverDeps, 'leases'> {
  config: DrkitConfig | undefined;
  /** Where a relative lease path resolves (default the working directory). */
  baseDir?: string;
}

/**
 * The config's `failover:` over the caller's state store, with its own lease backend (closed by
 * `close`; the store stays the caller's). `drkit failover …` and the scheduler daemon open it
 * this way, and both run `monitorLoop` on it.
 */
export async function openFailover(
  options: OpenFailoverOptions,
): Promise<{ failover: Failover; close: () => Promise<void> }> {
  const { config, baseDir, ...deps } = options;
  if (!config?.failover)
    throw new FailoverError(FailoverErrorCode.NOT_CONFIGURED, 'No failover: section in the config.', {
      hint: 'Add one to drkit.config.yaml (see the README section "Fail over"), or pass --config FILE.',
    });
  const settings = settingsFromConfig(config.failover, baseDir);
  const leases = await openLeaseBackend(settings.lease);
  return {
    failover: new Failover(settings, { ...deps, leases, monitor: monitorName(deps.monitor) }),
    close: () => leases.close(),
  };
}
