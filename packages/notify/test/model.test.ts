import { describe, expect, it } from 'vitest';
import { incidentSchema } from '../src/index.js';

const incident = {
  id: '20261206T160000Z-ab12cd',
  title: 'Backups of "data" are 2 h old',
  severity: 'P2',
  components: ['backup'],
  status: 'investigating',
  dedupKey: 'rpo:data',
  openedAt: '2026-12-06T16:00:00.000Z',
  timeline: [
    {
      at: '2026-12-06T16:00:00.000Z',
      by: 'scheduler',
      message: 'RPO 1 h exceeded',
      visibility: 'public',
      status: 'investigating',
    },
  ],
};

describe('incident model', () => {
  it('round-trips an incident through JSON', () => {
    const parsed = incidentSchema.parse(JSON.parse(JSON.stringify(incident)));
    expect(parsed).toEqual({ ...incident, labels: {}, timeline: [{ ...incident.timeline[0], kind: 'updated' }] });
  });

  it('refuses a severity outside P1–P4 and an id that is not a safe key segment', () => {
    expect(incidentSchema.safeParse({ ...incident, severity: 'P0' }).success).toBe(false);
    expect(incidentSchema.safeParse({ ...incident, id: '../x' }).success).toBe(false);
  });
});
