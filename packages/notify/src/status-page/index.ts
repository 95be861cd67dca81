export { type StatusPageFile, STATUS_PAGE_CACHE_CONTROL, statusPageFiles, writeStatusPage } from './files.js';
export { escapeHtml, renderStatusPage } from './html.js';
export {
  type Impact,
  type Indicator,
  type Maintenance,
  type MaintenanceStatus,
  type PageComponent,
  type PageIncident,
  type PageMaintenance,
  type PageStaleness,
  type PublicUpdate,
  type StatusPage,
  type StatusPageComponent,
  type StatusPageInput,
  statusPage,
} from './page.js';
export {
  DEFAULT_STALE_AFTER_MS,
  lastPublicUpdateAt,
  type StaleIncident,
  staleIncidents,
  staleReminder,
} from './stale.js';
export { statusPageSettings } from './settings.js';
export { type Summary, summarySchema, toSummary } from './summary.js';
export { severitySpans, type StateSpan, type Uptime, type UptimeDay, uptime } from './uptime.js';
