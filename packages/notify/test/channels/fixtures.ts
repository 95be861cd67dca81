import type { Incident, Notification } from '../../src/index.js';

export function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: '20261206T160000Z-ab12cd',
    title: 'Backups of "data" are 2 h old',
    severity: 'P1',
    components: ['backup', 'data'],
    labels: { source: 'data' },
    status: 'investigating',
    dedupKey: 'rpo:data',
    openedAt: '2026-12-06T16:00:00.000Z',
    timeline: [
      {
        at: '2026-12-06T16:00:00.000Z',
        kind: 'opened',
        by: 'scheduler',
        message: 'RPO 1 h exceeded <by 1 h>',
        visibility: 'public',
        status: 'investigating',
      },
    ],
    ...overrides,
  };
}

export function notification(overrides: Partial<Notification> = {}): Notification {
  const incidents = overrides.incidents ?? [incident()];
  return {
    idempotencyKey: 'msg-20261206T160000Z-ab12cd-opened-pager',
    kind: 'opened',
    severity: incidents[0]?.severity ?? 'P1',
    title: incidents[0]?.title ?? 'drkit test',
    text: 'The last backup of "data" finished 2 h ago; the RPO is 1 h.',
    incidents,
    ...overrides,
  };
}
