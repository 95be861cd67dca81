import path from 'node:path';
import { type FailoverConfig, failoverDurationMs, type ProbeConfig } from '@drkit/config';
import type { LeaseBackendOptions } from '@drkit/state';
import type { Triggers } from './evaluator.js';
import type { Probe } from './probes.js';

/** A command (run by /bin/sh) or a webhook (POSTed JSON) that a step calls; exactly one of the two. */
export interface Hook {
  command?: string;
  webhook?: string;
}

interface StepBase {
  /** A step that has not finished by then failed (ms). */
  timeoutMs?: number;
  /** Tries after the first failure (only where a retry is safe: activate, dns, verify). */
  retries?: number;
}
export type Step =
  | (StepBase & { kind: 'activate' } & Hook)
  | (StepBase & { kind: 'dns' } & Hook)
  | (StepBase & {
      kind: 'restore';
      sources: string[];
      /** `latest:clean` (the newest snapshot of these sources that verifies clean), `latest`, or an id. */
      snapshot: string;
      /** Per source: a folder for a file source, a redis:// URL for a Redis source. */
      target: Record<string, string>;
    })
  | (StepBase & { kind: 'verify' /** The standby's probes must pass this long (ms). */; forMs: number });

export interface FailoverSettings {
  /** The site's name: in state keys, the lease name and the incident. Default `default`. */
  site: string;
  primary: { probes: Probe[] };
  standby: { probes: Probe[] };
  triggers: Triggers;
  /** Monitors allowed to vote, and how many must agree (quorum) within `quorumWithinMs`. */
  monitors: string[];
  quorum: number;
  quorumWithinMs: number;
  lease: LeaseBackendOptions & { ttlMs: number };
  /** No automatic failover this long after the last one. */
  cooldownMs: number;
  /** At most this many automatic failovers in 24 hours. */
  maxPerDay: number;
  steps: Step[];
}

export const DEFAULT_STEP_TIMEOUT_MS = 5 * 60_000;

const ms = (text: string) => failoverDurationMs(text)!;
const fraction = (text: string) => Number(text.replace('%', '')) / 100;

/** A probe as the config writes it (`interval: 10s`, `status: "200-299"`) → a probe to run. */
export function probeOf(p: ProbeConfig): Probe {
  const timing = {
    ...(p.name ? { name: p.name } : {}),
    ...(p.interval ? { intervalMs: ms(p.interval) } : {}),
    ...(p.timeout ? { timeoutMs: ms(p.timeout) } : {}),
  };
  if (p.type === 'http') {
    const [min, max] = (p.status ?? '200-399').split('-').map(Number);
    return {
      type: 'http',
      url: p.url,
      status: { min: min!, max: max ?? min! },
      ...(p.latency ? { latencyMs: ms(p.latency) } : {}),
      ...(p.body ? { body: p.body } : {}),
      ...timing,
    };
  }
  if (p.type === 'tcp') return { type: 'tcp', host: p.host, port: p.port, ...timing };
  if (p.type === 'redis') return { type: 'redis', url: p.url, ...timing };
  return { type: 'command', command: p.command, ...timing };
}

/**
 * The `failover:` section of drkit.config.yaml (validated by @drkit/config)
 * as settings; relative lease paths resolve against `baseDir`.
 */
export function settingsFromConfig(config: FailoverConfig, baseDir: string = process.cwd()): FailoverSettings {
  const t = config.triggers;
  const lease = config.lease;
  const steps: Step[] = config.steps.map((raw) => {
    const [kind, body] = Object.entries(raw as Record<string, Record<string, unknown>>)[0]!;
    const limits = {
      ...(body.timeout ? { timeoutMs: ms(body.timeout as string) } : {}),
      ...(body.retries !== undefined ? { retries: body.retries as number } : {}),
    };
    if (kind === 'verify') return { kind, forMs: ms(body.for as string), ...limits };
    if (kind === 'restore') {
      const target = Object.fromEntries(
        Object.entries(body.target as Record<string, string>).map(([k, v]) => [
          k,
          /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : path.resolve(baseDir, v),
        ]),
      );
      return {
        kind,
        sources: body.sources as string[],
        snapshot: (body.snapshot as string | undefined) ?? 'latest:clean',
        target,
        ...limits,
      };
    }
    return {
      kind: kind as 'activate' | 'dns',
      ...(body.command ? { command: body.command as string } : { webhook: body.webhook as string }),
      ...limits,
    };
  });
  return {
    site: config.site,
    primary: { probes: config.primary.probes.map(probeOf) },
    standby: { probes: config.standby.probes.map(probeOf) },
    triggers: {
      unreachableForMs: ms(t.unreachable_for),
      errorRate: fraction(t.error_rate),
      errorWindowMs: ms(t.error_window),
      minSamples: t.min_samples,
      recoverBelow: fraction(t.recover_below),
      recoverForMs: ms(t.recover_for),
    },
    monitors: config.monitors ?? [],
    quorum: config.quorum,
    quorumWithinMs: ms(config.quorum_within),
    lease: {
      ...(lease.backend === 'file'
        ? { backend: 'file', path: path.resolve(baseDir, lease.path) }
        : lease.backend === 'redis'
          ? { backend: 'redis', url: lease.url }
          : { backend: 'etcd', endpoints: lease.endpoints }),
      ttlMs: ms(lease.ttl),
    },
    cooldownMs: ms(config.cooldown),
    maxPerDay: config.max_per_day,
    steps,
  };
}
