export type { Channel, Delivery, Notification } from './channel.js';
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
  type TimelineEntry,
  timelineEntrySchema,
} from './model.js';
export * from './status-page/index.js';
