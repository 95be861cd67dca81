import type { DrkitConfig, ProbeConfig } from '@drkit/config';
import { RunbookError, RunbookErrorCode } from '@drkit/runbooks';
import { type ProbeResult, probeOf, waitForProbes } from '@drkit/failover';

/** One line for people: each probe's result. */
export function probeDetail(results: ProbeResult[]): string {
  return results.map((r) => `${r.probe}: ${r.ok ? `ok in ${r.ms} ms` : r.error}`).join('; ');
}

/** Runs configured probes (failover's) until all pass within `withinMs`, or once when it is 0. */
export async function waitHealthy(
  probes: ProbeConfig[],
  withinMs: number,
  signal?: AbortSignal,
): Promise<{ ok: boolean; detail: string }> {
  // Every 200 ms: the RTO ends when the service answers, not at the next 1 s round.
  const result = await waitForProbes(probes.map(probeOf), { withinMs, everyMs: 200, ...(signal ? { signal } : {}) });
  return { ok: result.ok, detail: probeDetail(result.results) };
}

/** A runbook's probe step: its own probes, or (`probes: service`, passed as none) the config's `health:`. */
export function serviceProbes(
  config: DrkitConfig | undefined,
  probes: unknown[],
  withinMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const chosen = probes.length ? (probes as ProbeConfig[]) : config?.health;
  if (!chosen?.length)
    throw new RunbookError(
      RunbookErrorCode.NO_PROBES,
      "This step waits for the service's health probes, and the config has none.",
      {
        hint:
          'Add health: [{ type: http, url: "http://127.0.0.1:3000/health" }] to drkit.config.yaml, or give ' +
          'the step its own probes:.',
      },
    );
  return waitHealthy(chosen, withinMs);
}
