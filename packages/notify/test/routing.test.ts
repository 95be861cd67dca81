import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Bench, bench, HOUR, MINUTE } from './support/setup.js';

let b: Bench;
afterEach(() => b.cleanup());

const event = (severity: 'P1' | 'P2' | 'P3' | 'P4', title: string, extra: Record<string, unknown> = {}) => ({
  by: 'scheduler',
  severity,
  title,
  message: `${title}!`,
  ...extra,
});

describe('routing by severity (fake clock, real HTTP receivers)', () => {
  beforeEach(async () => {
    b = await bench();
  });

  it('P1: phone, pager, email and Slack at once', async () => {
    const { incident } = await b.notifier.report(event('P1', 'Database down', { components: ['db'] }));
    const report = await b.notifier.deliver();
    expect(report.delivered).toBe(4);
    for (const channel of ['phone', 'pager', 'ops-email', 'ops-slack'])
      expect(b.got(channel).map((m) => [m.kind, m.title])).toEqual([['opened', 'P1 opened: Database down']]);
    expect(b.got('hook')).toEqual([]);
    for (const r of await b.records())
      expect(r).toMatchObject({ state: 'delivered', dueBy: incident!.openedAt, deliveredAt: incident!.openedAt });
  });

  it('P2: email and Slack, due within 15 minutes, delivered at once and on time', async () => {
    await b.notifier.report(event('P2', 'Backups 2 h old'));
    await b.notifier.deliver();
    expect(b.got('ops-email')).toHaveLength(1);
    expect(b.got('ops-slack')).toHaveLength(1);
    expect(b.got('phone')).toEqual([]);
    const records = await b.records();
    expect(records.map((r) => Date.parse(r.dueBy) - Date.parse(r.createdAt))).toEqual([15 * MINUTE, 15 * MINUTE]);
    expect((await b.notifier.status()).late).toEqual([]);
  });

  it('P3: one Slack digest per hour window, holding every event of the window', async () => {
    await b.notifier.report(event('P3', 'Slow restore drill'));
    b.clock.advance(10 * MINUTE);
    await b.notifier.report(event('P3', 'Cache miss rate up'));
    b.clock.advance(49 * MINUTE);
    await b.notifier.deliver();
    expect(b.got('ops-slack')).toEqual([]);
    b.clock.advance(1 * MINUTE);
    await b.notifier.deliver();
    const [digest, ...more] = b.got('ops-slack');
    expect(more).toEqual([]);
    expect(digest).toMatchObject({
      kind: 'digest',
      title: 'P3 digest: 2 incidents since 2026-12-06T16:00:00.000Z (1h window)',
    });
    expect(digest!.incidents.map((i) => i.title)).toEqual(['Slow restore drill', 'Cache miss rate up']);
    // The next event opens the next window.
    b.clock.advance(5 * MINUTE);
    await b.notifier.report(event('P3', 'Another one'));
    b.clock.advance(HOUR - 1);
    await b.notifier.deliver();
    expect(b.got('ops-slack')).toHaveLength(1);
    b.clock.advance(1);
    await b.notifier.deliver();
    expect(b.got('ops-slack').map((m) => m.incidents.length)).toEqual([2, 1]);
    expect((await b.notifier.status()).late).toEqual([]);
  });

  it('P4: a daily email digest', async () => {
    await b.notifier.report(event('P4', 'Disk 70 % full'));
    b.clock.advance(5 * HOUR);
    await b.notifier.report(event('P4', 'Certificate expires in 30 days'));
    b.clock.advance(19 * HOUR - 1);
    await b.notifier.deliver();
    expect(b.got('ops-email')).toEqual([]);
    b.clock.advance(1);
    await b.notifier.deliver();
    expect(b.got('ops-email').map((m) => [m.kind, m.incidents.length])).toEqual([['digest', 2]]);
    expect(b.got('ops-slack')).toEqual([]);
  });

  it('P1 repeats every 15 minutes until acknowledged, then stops', async () => {
    const { incident } = await b.notifier.report(event('P1', 'Primary lost'));
    await b.notifier.deliver();
    b.clock.advance(15 * MINUTE - 1);
    await b.notifier.deliver();
    expect(b.got('phone').map((m) => m.kind)).toEqual(['opened']);
    b.clock.advance(1);
    await b.notifier.deliver();
    b.clock.advance(15 * MINUTE);
    await b.notifier.deliver();
    expect(b.got('phone').map((m) => m.kind)).toEqual(['opened', 'reminder', 'reminder']);
    expect(b.got('phone')[2]!.title).toBe('P1 reminder: Primary lost');
    b.clock.advance(5 * MINUTE);
    await b.notifier.acknowledge(incident!.id, { by: 'ana' });
    await b.notifier.deliver();
    b.clock.advance(HOUR);
    await b.notifier.deliver();
    expect(b.got('phone').map((m) => m.kind)).toEqual(['opened', 'reminder', 'reminder', 'acknowledged']);
    expect(b.got('pager').at(-1)!.title).toBe('P1 acknowledged by ana: Primary lost');
  });

  it('an open P1 for a component mutes P3 and P4 of the same component, not of others', async () => {
    await b.notifier.report(event('P1', 'Database down', { components: ['db'] }));
    await b.notifier.report(event('P3', 'db replica lag', { components: ['db'] }));
    await b.notifier.report(event('P4', 'db disk 70 %', { components: ['db', 'disk'] }));
    await b.notifier.report(event('P3', 'cache evictions', { components: ['cache'] }));
    b.clock.advance(24 * HOUR);
    await b.notifier.deliver();
    const slack = b.got('ops-slack').filter((m) => m.kind === 'digest');
    expect(slack.map((m) => m.incidents.map((i) => i.title))).toEqual([['cache evictions']]);
    expect(b.got('ops-email').filter((m) => m.kind === 'digest')).toEqual([]);
    expect(b.log.filter((l) => l.includes('muted by open P1 incident'))).toHaveLength(2);
    // The muted incidents are still recorded.
    expect((await b.notifier.list()).map((i) => i.title)).toContain('db replica lag');
  });

  it(
    'folds a report into the open incident with the same ' + 'dedup key, and a repeat of the last message into nothing',
    async () => {
      const first = await b.notifier.report(event('P2', 'RPO exceeded', { dedupKey: 'rpo:data' }));
      const again = await b.notifier.report(event('P2', 'RPO exceeded', { dedupKey: 'rpo:data' }));
      const worse = await b.notifier.report({
        ...event('P1', 'RPO exceeded', { dedupKey: 'rpo:data' }),
        message: 'Now 6 h',
      });
      expect(again).toMatchObject({ action: 'repeated', incident: { id: first.incident!.id } });
      expect(worse).toMatchObject({ action: 'updated', incident: { id: first.incident!.id, severity: 'P1' } });
      expect(worse.incident!.timeline.map((e) => [e.kind, e.message, e.severity])).toEqual([
        ['opened', 'RPO exceeded!', 'P2'],
        ['updated', 'Now 6 h', 'P1'],
      ]);
      await b.notifier.deliver();
      // Raised to P1: the update goes where P1 goes.
      expect(b.got('phone').map((m) => m.title)).toEqual(['P1 update: RPO exceeded']);
      const resolved = await b.notifier.report({
        ...event('P1', 'RPO exceeded', { dedupKey: 'rpo:data' }),
        resolve: true,
        message: 'Backup caught up',
      });
      expect(resolved).toMatchObject({ action: 'resolved', incident: { status: 'resolved' } });
      expect(await b.notifier.list()).toEqual([]);
      // The key is free again: the next report opens a new incident.
      const next = await b.notifier.report(event('P2', 'RPO exceeded', { dedupKey: 'rpo:data' }));
      expect(next.action).toBe('opened');
      expect(next.incident!.id).not.toBe(first.incident!.id);
      expect(await b.notifier.report({ ...event('P2', 'x', { dedupKey: 'nothing-open' }), resolve: true })).toEqual({
        incident: undefined,
        action: 'none',
      });
    },
  );

  it('two notifiers reporting one dedup key at once open one incident', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        b.notifier.report({ ...event('P2', 'Job failed', { dedupKey: 'job-failed:hourly' }), message: `run ${i}` }),
      ),
    );
    expect(new Set(results.map((r) => r.incident!.id)).size).toBe(1);
    const [incident] = await b.notifier.list();
    expect(incident!.timeline).toHaveLength(8);
  });
});

describe('routes with label matchers and escalation', () => {
  beforeEach(async () => {
    b = await bench(
      `
  routes:
    P1: { channels: [ops-slack], within: 0s, escalate: [{ after: 30m, channels: [phone] }, { after: 1h, channels: ` +
        `[hook] }] }
    P2:
      - { match: { component: database }, channels: [dba-email], within: 15m }
      - { match: { source: drill }, channels: [hook], within: 15m }
      - { channels: [ops-email], within: 15m }
`,
    );
  });

  it('sends each incident to the first route whose labels match', async () => {
    await b.notifier.report(event('P2', 'Replica lag', { components: ['cache', 'database'] }));
    await b.notifier.report({ ...event('P2', 'Drill overran'), by: 'drill' });
    await b.notifier.report(event('P2', 'Backup slow'));
    await b.notifier.deliver();
    expect(b.got('dba-email').map((m) => m.title)).toEqual(['P2 opened: Replica lag']);
    expect(b.got('hook').map((m) => m.title)).toEqual(['P2 opened: Drill overran']);
    expect(b.got('ops-email').map((m) => m.title)).toEqual(['P2 opened: Backup slow']);
  });

  it('escalates an unacknowledged P1 step by step, and not after acknowledgement', async () => {
    const { incident } = await b.notifier.report(event('P1', 'Site down'));
    await b.notifier.deliver();
    b.clock.advance(30 * MINUTE);
    await b.notifier.deliver();
    expect(b.got('phone').map((m) => [m.kind, m.title])).toEqual([['escalated', 'P1 escalated: Site down']]);
    expect(b.got('hook')).toEqual([]);
    await b.notifier.acknowledge(incident!.id, { by: 'bo' });
    b.clock.advance(HOUR);
    await b.notifier.deliver();
    expect(b.got('hook')).toEqual([]);
    expect(b.got('ops-slack').map((m) => m.kind)).toEqual(['opened', 'acknowledged']);
  });
});
