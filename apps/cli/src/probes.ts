import type { DrkitConfig } from '@drkit/config';
import { RunbookError, RunbookErrorCode } from '@drkit/runbooks';

/** Waits until probes pass (once when withinMs is 0): failover's probes, once they land in this build. */
export async function serviceProbes(_config: DrkitConfig | undefined, _probes: unknown[], _withinMs: number): Promise<{ ok: boolean; detail: string }> {
  throw new RunbookError(RunbookErrorCode.NO_PROBES, 'Probes are not available in this build of drkit yet.', { hint: 'Use a command step (e.g. curl -fsS URL) meanwhile.' });
}
