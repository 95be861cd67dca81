import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { objectives } from '@drkit/config';
import { issues, parse } from './section-support.js';

describe('drill and objectives config', () => {
  it(
    'reads the sandbox (against the config folder), the scratch Redis and the service; objectives default to ' +
      'the plan',
    () => {
      const config = parse(
        `
objectives: { rpo: 30m }
drill:
  sandbox: ../drills
  redis: redis://127.0.0.1:6390
  service: { command: "node server.js", env: { PORT: "18080" }, health: [{ type: http, url: ` +
          `"http://127.0.0.1:18080/health" }], ready_within: 90s, smoke: "curl -fsS http://127.0.0.1:18080/" }
health: [{ type: tcp, host: 127.0.0.1, port: 3000 }]
`,
      );
      expect(objectives(config)).toEqual({ rpo: '30m', rto: '4h' });
      expect(objectives(parse(''))).toEqual({ rpo: '1h', rto: '4h' });
      expect(config.drill).toEqual({
        sandbox: '/etc/drills',
        redis: 'redis://127.0.0.1:6390',
        redis_server: 'redis-server',
        service: {
          command: 'node server.js',
          env: { PORT: '18080' },
          health: [{ type: 'http', url: 'http://127.0.0.1:18080/health' }],
          ready_within: '90s',
          smoke: 'curl -fsS http://127.0.0.1:18080/',
          smoke_timeout: '5m',
        },
      });
      expect(config.health).toEqual([{ type: 'tcp', host: '127.0.0.1', port: 3000 }]);
    },
  );

  it('says what is wrong with each bad field and what to write instead', () => {
    expect(
      issues('objectives: { rto: 4 }\ndrill: { redis: "localhost:6379", service: { ready_within: soon } }'),
    ).toEqual([
      '/etc/drkit/drkit.config.yaml: objectives.rto: expected a duration like 4h, got 4. Fix: write whole ' +
        'numbers with a unit (s = seconds, m = minutes, h = hours, d = days, w = weeks, y = 365 days), e.g. rto: 4h.',
      '/etc/drkit/drkit.config.yaml: drill.redis: expected a redis:// URL of a scratch server, got ' +
        '"localhost:6379". Fix: write a URL, e.g. redis: "redis://127.0.0.1:6390".',
      expect.stringMatching(/^\/etc\/drkit\/drkit.config.yaml: drill.service.command: /),
      expect.stringMatching(/^\/etc\/drkit\/drkit.config.yaml: drill.service.health: /),
      expect.stringMatching(
        // long-line: a regex over the whole message, as the user reads it
        /^\/etc\/drkit\/drkit.config.yaml: drill.service.ready_within: expected a positive duration like 60s, got "soon"/,
      ),
    ]);
  });

  it('the README\'s "Prove you can recover" config works as pasted', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Prove you can recover'));
    const config = parse(/```yaml\n([\s\S]*?)```/.exec(section)![1]!);
    expect(objectives(config)).toEqual({ rpo: '1h', rto: '4h' });
    expect(config.drill).toMatchObject({
      sandbox: '/var/tmp/drkit-drills',
      redis: 'redis://127.0.0.1:6390',
      service: { command: 'node server.js', health: [{ type: 'http' }] },
    });
  });
});
