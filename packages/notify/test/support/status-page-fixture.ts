import type { Incident } from '../../src/index.js';
import type { StatusPageInput } from '../../src/status-page/index.js';

/** 2026-03-10 12:00 UTC: the fixed "now" of the status page tests. */
export const NOW = Date.parse('2026-03-10T12:00:00.000Z');
export const at = (minutesBeforeNow: number) => new Date(NOW - minutesBeforeNow * 60_000).toISOString();

/** A title as hostile as user input gets. */
export const HOSTILE_TITLE = 'Storage <script>alert("x")</script> & "quotes" down';

/** An open P1 on storage and api: last public update 47 minutes ago, an internal note since. */
export const openP1: Incident = {
  id: '20260310T111000Z-a1b2c3',
  title: HOSTILE_TITLE,
  severity: 'P1',
  components: ['storage', 'api'],
  labels: {},
  status: 'identified',
  openedAt: at(50),
  timeline: [
    {
      at: at(50),
      kind: 'opened',
      by: 'scheduler',
      message: 'Uploads to the bucket fail.',
      visibility: 'public',
      status: 'investigating',
      severity: 'P2',
    },
    {
      at: at(47),
      kind: 'updated',
      by: 'alice',
      message: 'The storage node lost its disk; failing over.',
      visibility: 'public',
      status: 'identified',
      severity: 'P1',
    },
    {
      at: at(5),
      kind: 'updated',
      by: 'alice',
      message: 'Replica catching up (internal only).',
      visibility: 'internal',
    },
  ],
};

/** An open P3 on api: degraded, freshly updated. */
export const openP3: Incident = {
  id: '20260310T115000Z-d4e5f6',
  title: 'Slow API responses',
  severity: 'P3',
  components: ['api'],
  labels: {},
  status: 'monitoring',
  openedAt: at(10),
  timeline: [
    {
      at: at(10),
      kind: 'opened',
      by: 'bob',
      message: 'p99 latency doubled.',
      visibility: 'public',
      status: 'investigating',
      severity: 'P3',
    },
    {
      at: at(2),
      kind: 'updated',
      by: 'bob',
      message: 'A fix is deployed; watching.',
      visibility: 'public',
      status: 'monitoring',
    },
  ],
};

/** Resolved three days ago after 90 minutes of partial outage of storage. */
export const resolvedP2: Incident = {
  id: '20260307T100000Z-0a0b0c',
  title: 'Backups delayed',
  severity: 'P2',
  components: ['storage'],
  labels: {},
  status: 'resolved',
  openedAt: '2026-03-07T10:00:00.000Z',
  resolvedAt: '2026-03-07T11:30:00.000Z',
  timeline: [
    {
      at: '2026-03-07T10:00:00.000Z',
      kind: 'opened',
      by: 'scheduler',
      message: 'The hourly backup missed its window.',
      visibility: 'public',
      status: 'investigating',
      severity: 'P2',
    },
    {
      at: '2026-03-07T11:30:00.000Z',
      kind: 'resolved',
      by: 'carol',
      message: 'Backups caught up.',
      visibility: 'public',
      status: 'resolved',
    },
  ],
};

export function pageInput(overrides: Partial<StatusPageInput> = {}): StatusPageInput {
  return {
    title: 'Acme',
    url: 'https://status.example.com/',
    components: [
      { name: 'api', description: 'The public HTTP API' },
      { name: 'storage', description: 'File uploads and downloads' },
      { name: 'web', description: 'The web app' },
    ],
    incidents: [openP1, openP3, resolvedP2],
    maintenance: [
      {
        id: 'db-upgrade',
        title: 'Database upgrade',
        components: ['web'],
        startsAt: at(30),
        endsAt: at(-30),
        message: 'The web app is read-only while the database is upgraded.',
      },
      {
        id: 'net-work',
        title: 'Network maintenance',
        components: ['api'],
        startsAt: at(-24 * 60),
        endsAt: at(-25 * 60),
        message: 'Short interruptions possible.',
      },
    ],
    now: NOW,
    ...overrides,
  };
}
