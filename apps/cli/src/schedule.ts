// Shared by the `drkit schedule` commands.
import path from 'node:path';
import { type DrkitConfig, schedulerSettings } from '@drkit/config';
import { systemClock } from '@drkit/notify';
import { cliExecutor, leaseSettings, planFromConfig, type RunRecord, Scheduler } from '@drkit/scheduler';
import { DEFAULT_STATE_LOCATION, openLeaseBackend, type StateStore } from '@drkit/state';
import { openState, type StateOptions } from './state-context.js';

const localTime = (ms: number, zone: string) =>
  new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'medium' }).format(new Date(ms));

export const when = (ms: number | undefined, zone: string) =>
  ms === undefined || !Number.isFinite(ms) ? '—' : `${localTime(ms, zone)} ${zone}`;

export async function withState<T>(
  opts: StateOptions,
  config: DrkitConfig | undefined,
  use: (store: StateStore) => Promise<T>,
): Promise<T> {
  const store = await openState(opts, config);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Runs `use` with a Scheduler over the state store and the daemon's lease backend, closing both after. */
export async function withScheduler<T>(
  opts: StateOptions,
  config: DrkitConfig | undefined,
  use: (scheduler: Scheduler) => Promise<T>,
): Promise<T> {
  const location = opts.state ?? config?.state ?? DEFAULT_STATE_LOCATION;
  const lease = leaseSettings(schedulerSettings(config ?? {}), location);
  const leases = await openLeaseBackend(lease.options);
  try {
    return await withState(opts, config, (store) => {
      // A run by hand goes through this same drkit, with the same config and repository flags.
      const global = [
        ...(opts.config ? ['--config', path.resolve(opts.config)] : []),
        ...(opts.repo ? ['--repo', opts.repo] : []),
      ];
      const scheduler = new Scheduler({
        jobs: planFromConfig(config?.schedule),
        store,
        clock: systemClock,
        executor: cliExecutor({ command: [process.execPath, process.argv[1]!], globalArgs: global }),
        leases,
        leaseTtlMs: lease.ttlMs,
      });
      return use(scheduler);
    });
  } finally {
    await leases.close();
  }
}

export function line(r: RunRecord): string {
  const took = r.durationMs === undefined ? '' : ` ${(r.durationMs / 1000).toFixed(1)}s`;
  const detail = r.snapshotId ?? (r.errorCode ? `[${r.errorCode}] ${r.message ?? ''}` : (r.reason ?? ''));
  const columns = `${r.slot}  ${r.job.padEnd(16)} ${r.kind.padEnd(9)} ${r.result.padEnd(11)}`;
  return `${columns}${took.padEnd(8)} ${detail}`.trimEnd();
}
