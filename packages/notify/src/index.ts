export {
  type Channel,
  type Delivery,
  NOTIFICATION_KINDS,
  type Notification,
  type NotificationKind,
} from './channel.js';
export { type Clock, systemClock } from './clock.js';
export { NotifyError, NotifyErrorCode } from './errors.js';
export { findIncident, KEYS, listIncidents, newIncidentId, type OpenState, openIncidents } from './incidents.js';
export {
  COMPONENT_STATES,
  type ComponentState,
  type DrkitEvent,
  INCIDENT_STATUSES,
  type Incident,
  type IncidentStatus,
  incidentSchema,
  SEVERITIES,
  type Severity,
  TIMELINE_KINDS,
  type TimelineEntry,
  timelineEntrySchema,
  type TimelineKind,
} from './model.js';
export * from './channels/index.js';
export {
  type FlushReport,
  LATE_GRACE_MS,
  Notifier,
  type NotifierOptions,
  type OutboxStatus,
  type ReportResult,
} from './notifier.js';
export {
  type DeliveryReport,
  type ListedRecord,
  KEEP_FINISHED_MS,
  notificationSchema,
  OUTBOX_STATES,
  Outbox,
  type OutboxRecord,
  outboxRecordSchema,
  type OutboxState,
} from './outbox.js';
export { REPORT_DUE_MS, REPORT_PREFIX, remindDueReports } from './report-reminders.js';
export { PLAN, type Policy, policyFromConfig, type Route, routeFor } from './policy.js';
export * from './status-page/index.js';
