import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alertSeverity, jsonLogger, parseAlertmanager, renderOperatorPage } from '../src/index.js';

describe('logs', () => {
  it('are JSON lines with the run id of a child logger; secrets in fields and URLs are masked', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const log = jsonLogger({ destination: out }).child({ runId: 'r-1', job: 'hourly' });
    log.info(
      { token: 'abcdefabcdefabcdef', url: 'redis://:hunter2@cache:6379' },
      'connecting to redis://:hunter2@cache:6379 with token=abcdefabcdef',
    );
    const line = JSON.parse(text.trim());
    expect(line).toMatchObject({
      level: 'info',
      runId: 'r-1',
      job: 'hourly',
      token: '***',
      msg: 'connecting to redis://***@cache:6379 with token=***',
    });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('abcdefabcdef');
  });
});

describe('alertmanager intake', () => {
  it('maps severity labels (critical P1, error P2, warning P3, info P4) unless drkit_priority says', () => {
    expect(['critical', 'error', 'warning', 'info', 'other'].map((severity) => alertSeverity({ severity }))).toEqual([
      'P1',
      'P2',
      'P3',
      'P4',
      'P3',
    ]);
    expect(alertSeverity({ severity: 'info', drkit_priority: 'p1' })).toBe('P1');
  });

  it('refuses anything but a version 4 payload with fingerprints, saying where', () => {
    expect(parseAlertmanager('[]')).toMatch(/^the payload: /);
    expect(parseAlertmanager(JSON.stringify({ version: '4', status: 'firing', alerts: [] }))).toMatch(/^alerts: /);
    expect(
      parseAlertmanager(
        JSON.stringify({
          version: '4',
          status: 'firing',
          alerts: [{ status: 'firing', labels: {}, fingerprint: '../x' }],
        }),
      ),
    ).toMatch(/^alerts\.0\.fingerprint: /);
  });
});

describe('operator page', () => {
  it('escapes what users wrote (incident titles) and names every state in words', () => {
    const html = renderOperatorPage({
      now: Date.parse('2026-12-06T12:00:00Z'),
      jobs: [],
      rpo: [{ source: 'data', ageSeconds: 7300, breach: 'P1' }],
      objectiveSeconds: 3600,
      incidents: [
        {
          id: 'i-1',
          title: '<script>alert(1)</script>',
          severity: 'P1',
          components: [],
          labels: {},
          status: 'investigating',
          openedAt: '2026-12-06T11:00:00Z',
          timeline: [],
        },
      ],
      outbox: { pending: 0, failed: 0, delivered: 0 },
      backups: [],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('P1: past twice the objective');
    expect(html).toContain('no backup runs yet');
  });

  it('charts drill RTO over the last year when drills exist, and says how they went', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    const view = {
      now,
      jobs: [],
      rpo: [],
      objectiveSeconds: 3600,
      incidents: [],
      outbox: { pending: 0, failed: 0, delivered: 0 },
      backups: [],
      rtoObjectiveSeconds: 4 * 3600,
    };
    expect(renderOperatorPage(view)).not.toContain('Drill RTO');
    const html = renderOperatorPage({
      ...view,
      drills: [
        { at: now - 60 * 86_400_000, rtoSeconds: 95, passed: true },
        { at: now - 30 * 86_400_000, rtoSeconds: null, passed: false },
        { at: now - 86_400_000, rtoSeconds: 80, passed: true },
      ],
    });
    expect(html).toContain(
      '<title id="drill-rto-objective-4-0-h-">Drill RTO (objective 4.0 h): 2 drills with an RTO in the last ' +
        '365 days, at most 95 s</title>',
    );
    expect(html).toContain('3 drill(s), <span class="bad">1 failed</span>; the newest passed 2026-12-05 12:00:00 UTC.');
  });
});

describe('job leases', () => {
  it('live beside the state store unless scheduler.lease says: its Redis, or <state>/leases; ttl 30s', async () => {
    const { parseConfigText, schedulerSettings } = await import('@drkit/config');
    const { leaseSettings } = await import('../src/index.js');
    const settings = (yaml: string) =>
      schedulerSettings(
        parseConfigText(`sources: [{ name: d, type: files, path: . }]\n${yaml}`, '/etc/drkit/drkit.config.yaml', {}),
      );
    expect(leaseSettings(settings(''), 'redis://:pw@cache:6379/2')).toEqual({
      options: { backend: 'redis', url: 'redis://:pw@cache:6379/2' },
      ttlMs: 30_000,
    });
    expect(leaseSettings(settings(''), '/var/lib/drkit/state')).toEqual({
      options: { backend: 'file', path: '/var/lib/drkit/state/leases' },
      ttlMs: 30_000,
    });
    expect(
      leaseSettings(settings('scheduler: { lease: { backend: etcd, endpoints: ["10.0.0.5:2379"], ttl: 10s } }'), '/x'),
    ).toEqual({
      options: { backend: 'etcd', endpoints: ['10.0.0.5:2379'] },
      ttlMs: 10_000,
    });
    expect(leaseSettings(settings('scheduler: { lease: { backend: file, path: leases } }'), '/x').options).toEqual({
      backend: 'file',
      path: '/etc/drkit/leases',
    });
  });
});
