export { type DrillOptions, runDrill, sourceEnvName } from './drill.js';
export { RunbookError, RunbookErrorCode } from './errors.js';
export { DRILL_PREFIX, drillHistory, findDrill, saveDrill } from './history.js';
export type { DrillProblem, FileSourceCheck, RedisSourceCheck, SourceCheck } from './read-back.js';
export { type DrillReport, drillMarkdown, formatSeconds, PHASES, type PhaseName, type PhaseReport } from './report.js';
export { type ScratchRedis, startScratchRedis } from './scratch-redis.js';
export { runCommand, type ServiceSpec } from './service.js';
export { allRunbooks, BUILTIN_RUNBOOKS, findRunbook, type NamedRunbook } from './builtin.js';
export {
  type CommandResult,
  planStep,
  resumeCommand,
  RUN_PREFIX,
  type RunbookDeps,
  type RunOptions,
  type RunRecord,
  runRunbook,
  shellLine,
  type SourceRef,
  type StepPlan,
  type StepRecord,
} from './runner.js';
export { DEFAULT_LOG_PATTERNS, type LogScanReport, logFiles, type PatternMatches, scanLogs } from './log-scan.js';
export { type RotateResult, rotateSecrets } from './secrets.js';
export { type IncidentReportOptions, incidentReport, writeIncidentReport } from './incident-report.js';
// Moved to @drkit/notify (the scheduler daemon calls them too); still exported here.
export { REPORT_DUE_MS, REPORT_PREFIX, remindDueReports } from '@drkit/notify';
