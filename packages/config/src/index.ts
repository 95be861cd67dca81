export { parseDuration } from './duration.js';
export { ConfigError, ConfigErrorCode, type ConfigIssue } from './errors.js';
export { parseConfigText, parseRunbookText, readConfig, type ValidateOptions, validateConfig } from './load.js';
export {
  configSchema,
  type DrkitConfig,
  isLocationUrl,
  type RepositoryConfig,
  type RepositoryFieldsConfig,
  type FileSourceConfig,
  type RedisSourceConfig,
  type RetentionConfig,
  type SourceConfig,
} from './schema.js';
export {
  type ChannelConfig,
  type ContactConfig,
  NOTIFY_NAME,
  type NotifyConfig,
  parseSmtpUrl,
  ROLE_REFERENCE,
  type RouteConfig,
  SEVERITY_NAMES,
  type SmtpUrl,
} from './notify-schema.js';
export {
  cronProblem,
  isTimeZone,
  JOB_COMMANDS,
  objectives,
  schedulerSettings,
  type JobCommand,
  type JobConfig,
  type ObjectivesConfig,
  type ScheduleConfig,
  type SchedulerConfig,
} from './schedule-schema.js';
export { durationMs } from './duration.js';
export { type StatusPageConfig, statusPageSchema } from './status-page-schema.js';
export { type FailoverConfig, failoverDurationMs, type ProbeConfig } from './failover-schema.js';
export { type DrillConfig, drillSchema } from './drill-schema.js';
export { RUNBOOK_STEP_TYPES, type RunbookConfig, runbookSchema, type RunbookStep, stepId } from './runbook-schema.js';
