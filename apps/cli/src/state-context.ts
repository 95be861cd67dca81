import type { DrkitConfig } from '@drkit/config';
import { DEFAULT_STATE_LOCATION, openStateStore, type StateStore } from '@drkit/state';
import type { GlobalOptions } from './output.js';

export interface StateOptions extends GlobalOptions {
  /** The state store: a folder or redis:// URL (--state, env DRKIT_STATE). */
  state?: string;
}

/** The state store of --state / DRKIT_STATE, else the config's `state:`, else ./drkit-state. No repository needed. */
export function openState(opts: StateOptions, config: DrkitConfig | undefined): Promise<StateStore> {
  return openStateStore(opts.state ?? config?.state ?? DEFAULT_STATE_LOCATION);
}
