export { type AlertmanagerPayload, alertSeverity, intakeAlerts, parseAlertmanager } from './alertmanager.js';
export { Daemon, type DaemonOptions, type HostedService } from './daemon.js';
export { SchedulerError, SchedulerErrorCode } from './errors.js';
export { type FailoverServiceOptions, failoverService } from './failover-service.js';
export { type CliExecutorOptions, cliExecutor, cliSnapshotLister, type SnapshotSummary } from './executor.js';
export { RUN_KINDS, RUN_RESULTS, RunHistory, type RunKind, type RunRecord, type RunResult, runKey } from './history.js';
export { jsonLogger, type Logger, maskSecrets, silentLogger } from './logger.js';
export { SchedulerMetrics } from './metrics.js';
export { escapeHtml, type OperatorView, renderOperatorPage } from './page.js';
export {
  DEFAULT_LEASE_TTL,
  defaultJobs,
  findJob,
  hostTimeZone,
  type Job,
  leaseSettings,
  planFromConfig,
  Slots,
} from './plan.js';
export { humanSeconds, RpoWatch, type SourceRpo } from './rpo.js';
export {
  type Executor,
  type JobContext,
  type JobOutcome,
  Scheduler,
  type SchedulerOptions,
  type SlotOutcome,
} from './scheduler.js';
