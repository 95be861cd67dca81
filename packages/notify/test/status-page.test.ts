import { describe, expect, it } from 'vitest';
import {
  type Incident,
  renderStatusPage,
  severitySpans,
  staleIncidents,
  staleReminder,
  statusPage,
  summarySchema,
  toSummary,
  uptime,
} from '../src/index.js';
import { at, HOSTILE_TITLE, NOW, openP1, openP3, pageInput, resolvedP2 } from './support/status-page-fixture.js';

const MIN = 60_000;

describe('status page: component states and the overall indicator', () => {
  const page = statusPage(pageInput());
  const state = (name: string) => page.components.find((c) => c.name === name)?.state;

  it(
    'puts each component in the worst state of the open ' + 'incidents naming it; maintenance in progress otherwise',
    () => {
      expect(state('api')).toBe('major_outage'); // P1 beats the P3 on it
      expect(state('storage')).toBe('major_outage');
      expect(state('web')).toBe('under_maintenance');
      expect(page.indicator).toBe('critical');
      expect(page.description).toBe('Major Service Outage');
      // Since the P1 was raised from P2, not since it opened.
      expect(page.components.find((c) => c.name === 'api')?.since).toBe(at(47));
    },
  );

  it('is operational with nothing open, in maintenance when only maintenance runs', () => {
    expect(statusPage(pageInput({ incidents: [resolvedP2], maintenance: [] })).indicator).toBe('none');
    const quiet = statusPage(pageInput({ incidents: [resolvedP2] }));
    expect(quiet.indicator).toBe('maintenance');
    expect(quiet.components.map((c) => c.state)).toEqual(['operational', 'operational', 'under_maintenance']);
  });

  it('lists components named only by incidents after the configured ones', () => {
    const extra: Incident = { ...openP3, id: 'x-1', components: ['Search (EU)'] };
    const p = statusPage(pageInput({ incidents: [extra] }));
    expect(p.components.map((c) => [c.id, c.state])).toEqual([
      ['api', 'operational'],
      ['storage', 'operational'],
      ['web', 'under_maintenance'],
      ['search-eu', 'degraded_performance'],
    ]);
  });

  it('shows only public timeline entries, newest first, with the status at each', () => {
    const p1 = page.incidents.find((i) => i.id === openP1.id)!;
    expect(p1.updates.map((u) => [u.status, u.message])).toEqual([
      ['identified', 'The storage node lost its disk; failing over.'],
      ['investigating', 'Uploads to the bucket fail.'],
    ]);
    expect(JSON.stringify(page)).not.toContain('internal only');
    expect(page.incidents.map((i) => i.id)).toEqual([openP1.id, openP3.id]); // worst first
    expect(page.history.map((i) => i.id)).toEqual([resolvedP2.id]);
    expect(statusPage(pageInput({ historyDays: 2 })).history).toEqual([]);
  });

  it('lists scheduled and running maintenance, soonest first, and drops finished ones', () => {
    expect(page.maintenance.map((m) => [m.id, m.status])).toEqual([
      ['db-upgrade', 'in_progress'],
      ['net-work', 'scheduled'],
    ]);
    const later = statusPage(pageInput({ now: NOW + 26 * 60 * MIN, incidents: [] }));
    expect(later.maintenance).toEqual([]);
  });
});

describe('status page: 90-day uptime', () => {
  it('counts minutes of partial and major outage per UTC day, each minute once, and only those as down', () => {
    const page = statusPage(pageInput());
    const storage = page.components.find((c) => c.name === 'storage')!.uptime;
    expect(storage.days).toHaveLength(90);
    expect(storage.days[0]!.date).toBe('2025-12-11');
    expect(storage.days.at(-1)!.date).toBe('2026-03-10');
    expect(storage.days.find((d) => d.date === '2026-03-07')).toEqual({
      date: '2026-03-07',
      majorMinutes: 0,
      partialMinutes: 90,
      degradedMinutes: 0,
    });
    expect(storage.days.at(-1)).toEqual({
      date: '2026-03-10',
      majorMinutes: 47,
      partialMinutes: 3,
      degradedMinutes: 0,
    });
    // 140 minutes down in 89.5 days.
    expect(storage.percent).toBe(Math.floor(10_000 * (1 - 140 / (89.5 * 1440))) / 100);
    // api: the P1's 50 minutes; the P3 overlapping it adds no downtime (degraded is not down, and it is under the P1).
    const api = page.components.find((c) => c.name === 'api')!.uptime;
    expect(api.days.at(-1)).toEqual({ date: '2026-03-10', majorMinutes: 47, partialMinutes: 3, degradedMinutes: 0 });
    expect(page.components.find((c) => c.name === 'web')!.uptime.percent).toBe(100);
  });

  it('splits an incident at midnight and at each severity change', () => {
    const overnight: Incident = {
      ...resolvedP2,
      openedAt: '2026-03-08T23:30:00.000Z',
      resolvedAt: '2026-03-09T01:00:00.000Z',
      timeline: [
        { at: '2026-03-08T23:30:00.000Z', kind: 'updated', by: 'x', message: '', visibility: 'public', severity: 'P3' },
        { at: '2026-03-09T00:15:00.000Z', kind: 'updated', by: 'x', message: '', visibility: 'public', severity: 'P1' },
      ],
    };
    const spans = severitySpans(overnight, NOW);
    expect(spans.map((s) => [s.state, (s.to - s.from) / MIN])).toEqual([
      ['degraded_performance', 45],
      ['major_outage', 45],
    ]);
    const days = uptime(spans, NOW, 3).days;
    expect(days).toEqual([
      { date: '2026-03-08', majorMinutes: 0, partialMinutes: 0, degradedMinutes: 30 },
      { date: '2026-03-09', majorMinutes: 45, partialMinutes: 0, degradedMinutes: 15 },
      { date: '2026-03-10', majorMinutes: 0, partialMinutes: 0, degradedMinutes: 0 },
    ]);
  });

  it('shows any outage below 100 % and ignores incidents older than the window', () => {
    expect(uptime([{ from: NOW - 20_000, to: NOW, state: 'partial_outage' }], NOW).percent).toBe(99.99);
    const old: Incident = {
      ...resolvedP2,
      openedAt: '2025-01-01T00:00:00.000Z',
      resolvedAt: '2025-01-02T00:00:00.000Z',
    };
    expect(statusPage(pageInput({ incidents: [old] })).components.every((c) => c.uptime.percent === 100)).toBe(true);
  });
});

describe('status page: staleness', () => {
  it('marks an open P1/P2 whose last public update is older than the promise; internal entries do not count', () => {
    const stale = staleIncidents([openP1, openP3, resolvedP2], NOW);
    expect(stale.map((s) => [s.incident.id, s.lastPublicUpdateAt, s.ageMs / MIN])).toEqual([[openP1.id, at(47), 47]]);
    expect(statusPage(pageInput()).stale).toEqual([
      { incidentId: openP1.id, title: HOSTILE_TITLE, severity: 'P1', lastPublicUpdateAt: at(47), ageMs: 47 * MIN },
    ]);
  });

  it('is fresh at exactly the interval, and honours a configured one', () => {
    expect(staleIncidents([openP1], NOW - 17 * MIN)).toEqual([]); // 30 minutes after the update
    expect(staleIncidents([openP1], NOW - 16 * MIN)).toHaveLength(1);
    expect(staleIncidents([openP1], NOW, 60 * MIN)).toEqual([]);
    expect(statusPage(pageInput({ staleAfterMs: 60 * MIN })).stale).toEqual([]);
  });

  it('names each reminder after the last update and the periods since, so each period reminds once', () => {
    const stale = (now: number) => statusPage(pageInput({ now })).stale;
    const [first] = stale(NOW);
    const [same] = stale(NOW + 10 * MIN);
    const [next] = stale(NOW + 20 * MIN);
    expect(staleReminder(first!).key).toBe('stale-20260310T111300Z-1');
    expect(staleReminder(same!).key).toBe(staleReminder(first!).key);
    expect(staleReminder(next!).key).toBe('stale-20260310T111300Z-2');
    expect(staleReminder(first!).text).toContain(`drkit incident update ${openP1.id}`);
    expect(staleReminder(first!).text).toContain('47 min');
  });
});

describe('status page: HTML and summary.json', () => {
  const page = statusPage(pageInput());

  it('escapes every piece of user input: no markup from a title or message survives', () => {
    const evil: Incident = {
      ...openP1,
      components: ['<b>api</b>'],
      timeline: [
        { at: at(50), kind: 'updated', by: 'x', message: '</p><img src=x onerror=alert(1)>', visibility: 'public' },
      ],
    };
    const html = renderStatusPage(
      statusPage(pageInput({ incidents: [evil], components: [{ name: 'x', description: '"><script>' }] })),
    );
    expect(html).not.toMatch(/<script|<img|<b>|onerror=alert\(1\)>/);
    expect(html).toContain('Storage &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#34;quotes&#34; down');
    expect(html).toContain('&#60;/p&#62;&#60;img src=x onerror=alert(1)&#62;');
  });

  it('says every state in words beside its colour, and has landmarks and one h1', () => {
    const html = renderStatusPage(page);
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<header[\s>]/);
    expect(html).toMatch(/<main[\s>]/);
    expect(html).toMatch(/<footer[\s>]/);
    expect(html.match(/<h1[\s>]/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script[\s>]/);
    for (const words of [
      'Major outage',
      'Degraded performance',
      'Under maintenance',
      'This page may be out of date',
      '99.89 % uptime',
      'Incidents on 2 days: 2026-03-07 (90 min partial outage)',
    ])
      expect(html).toContain(words);
  });

  it('summary.json round-trips through its zod schema', () => {
    const summary = toSummary(page);
    const text = JSON.stringify(summary);
    expect(summarySchema.parse(JSON.parse(text))).toEqual(summary);
    expect(summary.status).toEqual({ indicator: 'critical', description: 'Major Service Outage' });
    expect(summary.incidents.map((i) => [i.id, i.impact, i.status])).toEqual([
      [openP1.id, 'critical', 'identified'],
      [openP3.id, 'minor', 'monitoring'],
    ]);
    expect(summary.scheduled_maintenances.map((m) => [m.id, m.status, m.impact])).toEqual([
      ['db-upgrade', 'in_progress', 'maintenance'],
      ['net-work', 'scheduled', 'maintenance'],
    ]);
    expect(summary.drkit.stale).toEqual([
      { incident_id: openP1.id, name: HOSTILE_TITLE, severity: 'P1', last_public_update_at: at(47), minutes_since: 47 },
    ]);
    // A document that strays from the shape is refused, not passed through.
    expect(
      summarySchema.safeParse({ ...summary, components: [{ ...summary.components[0], status: 'down' }] }).success,
    ).toBe(false);
    expect(summarySchema.safeParse({ ...summary, extra: 1 }).success).toBe(false);
  });
});
