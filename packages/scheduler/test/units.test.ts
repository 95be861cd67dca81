import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alertSeverity, jsonLogger, parseAlertmanager, renderOperatorPage } from '../src/index.js';

describe('logs', () => {
  it('are JSON lines with the run id of a child logger; secrets in fields and URLs are masked', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const log = jsonLogger({ destination: out }).child({ runId: 'r-1', job: 'hourly' });
    log.info({ token: 'abcdefabcdefabcdef', url: 'redis://:hunter2@cache:6379' }, 'connecting to redis://:hunter2@cache:6379 with token=abcdefabcdef');
    const line = JSON.parse(text.trim());
    expect(line).toMatchObject({ level: 'info', runId: 'r-1', job: 'hourly', token: '***', msg: 'connecting to redis://***@cache:6379 with token=***' });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('abcdefabcdef');
  });
});

describe('alertmanager intake', () => {
  it('maps severity labels (critical P1, error P2, warning P3, info P4) unless drkit_priority says', () => {
    expect(['critical', 'error', 'warning', 'info', 'other'].map((severity) => alertSeverity({ severity }))).toEqual(['P1', 'P2', 'P3', 'P4', 'P3']);
    expect(alertSeverity({ severity: 'info', drkit_priority: 'p1' })).toBe('P1');
  });

  it('refuses anything but a version 4 payload with fingerprints, saying where', () => {
    expect(parseAlertmanager('[]')).toMatch(/^the payload: /);
    expect(parseAlertmanager(JSON.stringify({ version: '4', status: 'firing', alerts: [] }))).toMatch(/^alerts: /);
    expect(parseAlertmanager(JSON.stringify({ version: '4', status: 'firing', alerts: [{ status: 'firing', labels: {}, fingerprint: '../x' }] }))).toMatch(/^alerts\.0\.fingerprint: /);
  });
});

describe('operator page', () => {
  it('escapes what users wrote (incident titles) and names every state in words', () => {
    const html = renderOperatorPage({
      now: Date.parse('2026-12-06T12:00:00Z'),
      jobs: [],
      rpo: [{ source: 'data', ageSeconds: 7300, breach: 'P1' }],
      objectiveSeconds: 3600,
      incidents: [{ id: 'i-1', title: '<script>alert(1)</script>', severity: 'P1', components: [], labels: {}, status: 'investigating', openedAt: '2026-12-06T11:00:00Z', timeline: [] }],
      outbox: { pending: 0, failed: 0, delivered: 0 },
      backups: [],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('P1: past twice the objective');
    expect(html).toContain('no backup runs yet');
  });
});
