import os from 'node:os';
import { createChannels, type DeliveryReport, Notifier, policyFromConfig } from '@drkit/notify';
import type { DrkitConfig } from '@drkit/config';
import { DEFAULT_STATE_LOCATION, openStateStore, type StateStore } from '@drkit/state';
import { loadConfig } from './context.js';
import { type GlobalOptions, warn } from './output.js';

export interface NotifyOptions extends GlobalOptions {
  /** The state store: a folder or redis:// URL (env DRKIT_STATE, else the config's `state:`). */
  state?: string;
}

/** Who a change from the command line is by, unless --by says. */
export function operator(): string {
  try {
    return os.userInfo().username || 'cli';
  } catch {
    return process.env.USER ?? 'cli';
  }
}

/**
 * The notifier the incident and notify commands share: the config's channels and routes (an
 * unset `${VAR}` in `notify:` fails here, before anything is written or sent) over the state
 * store of --state, DRKIT_STATE, the config's `state:`, else ./drkit-state. No repository needed.
 */
export async function openNotifier(opts: NotifyOptions): Promise<Notifier> {
  const config = await loadConfig(opts);
  const store = await openStateStore(opts.state ?? process.env.DRKIT_STATE ?? config?.state ?? DEFAULT_STATE_LOCATION);
  return notifierFor(config, store);
}

/** A notifier with the config's channels and routes over `store` (failover shares its state store with it). */
export function notifierFor(config: DrkitConfig | undefined, store: StateStore): Notifier {
  const notify = config?.notify;
  const contacts = config?.contacts ?? [];
  const channels = createChannels(notify?.channels ?? {}, { contact: (role) => contacts.find((c) => c.role === role) });
  return new Notifier({ store, channels, policy: policyFromConfig(notify), log: warn });
}

/** One line on stderr after a change: what went out, and what waits for `drkit notify flush`. */
export function sayDelivery(notifier: Notifier, report: DeliveryReport): void {
  if (notifier.channels.size === 0) {
    warn('notifications: no notify channels are configured (notify: in drkit.config.yaml), so nobody was told');
    return;
  }
  const parts = [`${report.delivered} sent`];
  if (report.retrying + report.waiting > 0)
    parts.push(`${report.retrying + report.waiting} waiting (drkit notify flush sends them)`);
  if (report.failed + report.expired > 0)
    parts.push(`${report.failed + report.expired} failed for good (drkit notify status)`);
  warn(`notifications: ${parts.join(', ')}`);
}
