import { type DrillConfig, parseDuration } from '@drkit/config';
import type { ServiceSpec } from '@drkit/runbooks';
import { waitHealthy } from './probes.js';

/** `drill.service` as the drill runs it: started from the sandbox, healthy when its probes pass. */
export function drillService(service: NonNullable<DrillConfig['service']>): ServiceSpec {
  return {
    command: service.command,
    env: service.env,
    readyWithinMs: parseDuration(service.ready_within),
    waitHealthy: (withinMs, signal) => waitHealthy(service.health, withinMs, signal),
    ...(service.smoke ? { smoke: service.smoke } : {}),
    smokeTimeoutMs: parseDuration(service.smoke_timeout),
  };
}
