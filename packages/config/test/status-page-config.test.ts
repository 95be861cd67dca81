import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { issues, parse } from './section-support.js';

describe('status_page config', () => {
  it(
    'reads title, components, target, stale_after and maintenance; a folder target resolves against the ' +
      'config folder',
    () => {
      const config = parse(`
status_page:
  title: Acme
  url: https://status.example.com/
  components:
    - { name: api, description: "The public HTTP API" }
    - name: storage
  target: ./public/status
  stale_after: 45m
  maintenance:
    - title: Database upgrade
      components: [api]
      starts: "2026-03-10T22:00:00Z"
      ends: "2026-03-10T23:00:00+00:00"
      message: Read-only for an hour.
`);
      expect(config.status_page).toEqual({
        title: 'Acme',
        url: 'https://status.example.com/',
        components: [{ name: 'api', description: 'The public HTTP API' }, { name: 'storage' }],
        target: path.resolve('/etc/drkit/public/status'),
        stale_after: '45m',
        maintenance: [
          {
            title: 'Database upgrade',
            components: ['api'],
            starts: '2026-03-10T22:00:00Z',
            ends: '2026-03-10T23:00:00+00:00',
            message: 'Read-only for an hour.',
          },
        ],
      });
    },
  );

  it('has defaults: the plan’s 30 minutes, no components, no maintenance; S3 targets stay URLs', () => {
    expect(parse('status_page: { target: "s3://status-bucket/acme" }').status_page).toEqual({
      title: 'Service',
      components: [],
      target: 's3://status-bucket/acme',
      stale_after: '30m',
      maintenance: [],
    });
    expect(parse('status_page: { target: "s3:http://127.0.0.1:9000/status/acme" }').status_page?.target).toBe(
      's3:http://127.0.0.1:9000/status/acme',
    );
    expect(parse('').status_page).toBeUndefined();
  });

  it('says what is wrong with each bad field, where, and what to write instead', () => {
    const lines = issues(`
status_page:
  titel: Acme
  components:
    - { name: api }
    - { name: api }
  target: "ftp://host/status"
  stale_after: 30
  maintenance:
    - title: Upgrade
      components: [ap]
      starts: tomorrow
      ends: "2026-03-10T23:00:00Z"
    - title: Backwards
      starts: "2026-03-10T23:00:00Z"
      ends: "2026-03-10T22:00:00Z"
`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/status_page: unknown key "titel". Did you mean "title"\?/),
        expect.stringMatching(
          // long-line: a regex over the whole message, as the user reads it
          /status_page.target: expected a folder path, file:\/\/ URL, s3:\/\/bucket\/prefix or s3:http:\/\/host:port\/bucket\/prefix, got "ftp:\/\/host\/status"\. Fix: write a path or URL, e.g\. target: s3:\/\/status-example-com\/status\./,
        ),
        expect.stringMatching(
          /status_page.stale_after: expected a duration like 30m, got 30\. Fix: write whole numbers with a unit/,
        ),
        expect.stringMatching(
          // long-line: a regex over the whole message, as the user reads it
          /status_page.maintenance\[0\]\.starts: expected a date and time in ISO 8601 with a time zone, got "tomorrow"\. Fix: write a quoted time, e\.g\. starts: "2026-03-10T22:00:00Z"\./,
        ),
        expect.stringMatching(
          // long-line: a regex over the whole message, as the user reads it
          /status_page.maintenance\[1\]\.ends: ends \(2026-03-10T22:00:00Z\) is not after starts \(2026-03-10T23:00:00Z\)\. Fix:/,
        ),
      ]),
    );
    expect(lines.every((l) => l.startsWith('/etc/drkit/drkit.config.yaml: '))).toBe(true);
    // The component checks run once the fields themselves are valid.
    expect(
      issues(
        'status_page: { components: [{ name: api }, { name: api }], maintenance: [{ title: U, components: ' +
          '[ap], starts: "2026-03-10T22:00:00Z", ends: "2026-03-10T23:00:00Z" }] }',
      ),
    ).toEqual([
      '/etc/drkit/drkit.config.yaml: status_page.components[1].name: duplicate component name "api". Fix: ' +
        'list each component once.',
      '/etc/drkit/drkit.config.yaml: status_page.maintenance[0].components[0]: "ap" is not one of ' +
        'status_page.components (api). Fix: use one of those names, or add it to components.',
    ]);
  });
});
