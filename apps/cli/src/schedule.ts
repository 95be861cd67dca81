// Shared by the `drkit schedule` commands.
import path from 'node:path';
import { type DrkitConfig, durationMs, schedulerSettings } from '@drkit/config';
import { systemClock } from '@drkit/notify';
import { cliExecutor, planFromConfig, type RunRecord, Scheduler } from '@drkit/scheduler';
import type { StateStore } from '@drkit/state';
import { openState, type StateOptions } from './state-context.js';
import type { GlobalOptions } from './output.js';

export const when = (ms: number | undefined, zone: string) =>
  ms === undefined || !Number.isFinite(ms)
    ? '—'
    : `${new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'medium' }).format(new Date(ms))} ${zone}`;

export async function withState<T>(opts: StateOptions, config: DrkitConfig | undefined, use: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await openState(opts, config);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

export function scheduler(config: DrkitConfig | undefined, store: StateStore, opts: GlobalOptions): Scheduler {
  // A run by hand goes through this same drkit, with the same config and repository flags.
  const global = [...(opts.config ? ['--config', path.resolve(opts.config)] : []), ...(opts.repo ? ['--repo', opts.repo] : [])];
  return new Scheduler({
    jobs: planFromConfig(config?.schedule),
    store,
    clock: systemClock,
    executor: cliExecutor({ command: [process.execPath, process.argv[1]!], globalArgs: global }),
    leaseTtlMs: config ? durationMs(schedulerSettings(config).lease_ttl) : undefined,
  });
}

export function line(r: RunRecord): string {
  const took = r.durationMs === undefined ? '' : ` ${(r.durationMs / 1000).toFixed(1)}s`;
  const detail = r.snapshotId ?? (r.errorCode ? `[${r.errorCode}] ${r.message ?? ''}` : (r.reason ?? ''));
  return `${r.slot}  ${r.job.padEnd(16)} ${r.kind.padEnd(9)} ${r.result.padEnd(11)}${took.padEnd(8)} ${detail}`.trimEnd();
}

