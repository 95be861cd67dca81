import type { ComponentState, Severity } from '../model.js';

/** The state an open incident puts its components in: the plan's severities onto Statuspage's component states. */
export const SEVERITY_STATE: Record<Severity, ComponentState> = {
  P1: 'major_outage',
  P2: 'partial_outage',
  P3: 'degraded_performance',
  P4: 'degraded_performance',
};

/** Worse is higher: an incident's state wins over maintenance, a major outage over everything. */
export const STATE_RANK: Record<ComponentState, number> = {
  operational: 0,
  under_maintenance: 1,
  degraded_performance: 2,
  partial_outage: 3,
  major_outage: 4,
};

/** The words shown beside every colour. */
export const STATE_LABEL: Record<ComponentState, string> = {
  operational: 'Operational',
  under_maintenance: 'Under maintenance',
  degraded_performance: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
};
