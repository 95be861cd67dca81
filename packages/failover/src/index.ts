export { FailoverError, FailoverErrorCode } from './errors.js';
export {
  DEFAULT_TRIGGERS,
  duration as formatDuration,
  Evaluator,
  type MonitorVerdict,
  quorumAgrees,
  type Triggers,
  type Verdict,
} from './evaluator.js';
export {
  type CommandProbe,
  DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  type HttpProbe,
  type Probe,
  type ProbeResult,
  probeName,
  type RedisProbe,
  runProbe,
  type TcpProbe,
  waitForProbes,
} from './probes.js';
export { Failover, type FailoverDeps, type FailoverStatus, type PlannedStep, stepName } from './failover.js';
export { type HookContext, runHook } from './hooks.js';
export { monitorName, type OpenFailoverOptions, openFailover } from './host.js';
export {
  FAILOVER_STATES,
  type FailoverState,
  type MonitorRecord,
  type RunRecord,
  type SiteRecord,
  type StepRecord,
} from './record.js';
export { chooseSnapshot, type RestoreChoice, type RestoreOutcome, restoreSources } from './restore-step.js';
export {
  DEFAULT_STEP_TIMEOUT_MS,
  type FailoverSettings,
  type Hook,
  probeOf,
  settingsFromConfig,
  type Step,
} from './settings.js';
