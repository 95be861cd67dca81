export { FailoverError, FailoverErrorCode } from './errors.js';
export { DEFAULT_TRIGGERS, Evaluator, type MonitorVerdict, quorumAgrees, type Triggers, type Verdict } from './evaluator.js';
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
