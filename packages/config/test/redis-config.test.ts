import { describe, expect, it } from 'vitest';
import { ConfigErrorCode, parseConfigText, type RedisSourceConfig, validateConfig } from '@drkit/config';

const redisOf = (text: string, env: NodeJS.ProcessEnv = {}) =>
  parseConfigText(text, 'drkit.config.yaml', env).sources[0] as RedisSourceConfig;

function issuesOf(value: unknown): string[] {
  try {
    validateConfig(value, { file: 'drkit.config.yaml' });
  } catch (e) {
    expect((e as { code: string }).code).toBe(ConfigErrorCode.INVALID);
    return (e as Error).message.split('\n');
  }
  throw new Error('expected the config to be refused');
}

describe('redis sources', () => {
  it('takes a URL whose password comes from the environment, with databases and a pattern', () => {
    const source = redisOf(
      `sources:\n  - name: cache\n    type: redis\n    url: redis://:\${REDIS_PASSWORD}@cache:6379\n` +
        `    dbs: [0, 2]\n    pattern: "session:*"\n`,
      { REDIS_PASSWORD: 'pw' },
    );
    expect(source).toEqual({
      name: 'cache',
      type: 'redis',
      url: 'redis://:pw@cache:6379',
      dbs: [0, 2],
      pattern: 'session:*',
    });
  });

  it('takes host/port/TLS, Sentinel and Cluster forms; a CA file resolves against the config folder', () => {
    const config = validateConfig(
      {
        sources: [
          {
            name: 'a',
            type: 'redis',
            host: 'cache',
            port: 6380,
            password: 'pw',
            tls: { ca_file: 'ca.pem' },
            dbs: 'all',
          },
          {
            name: 'b',
            type: 'redis',
            sentinel: { master_name: 'main', nodes: ['10.0.0.1:26379', '10.0.0.2:26379'], read_from: 'replica' },
          },
          { name: 'c', type: 'redis', cluster: { nodes: ['10.0.0.1:7000'] } },
        ],
      },
      { baseDir: '/etc/drkit' },
    );
    const [a, b, c] = config.sources as RedisSourceConfig[];
    expect(a!.tls).toEqual({ ca_file: '/etc/drkit/ca.pem' });
    expect(b!.sentinel).toEqual({
      master_name: 'main',
      nodes: ['10.0.0.1:26379', '10.0.0.2:26379'],
      read_from: 'replica',
    });
    expect(c!.cluster!.nodes).toEqual(['10.0.0.1:7000']);
  });

  it('needs exactly one way to reach the server, and only database 0 on a cluster', () => {
    expect(issuesOf({ sources: [{ name: 'r', type: 'redis' }] })).toEqual([
      'drkit.config.yaml: sources[0]: says nowhere where Redis is. Fix: give exactly one of url, host (with ' +
        'port), sentinel or cluster, e.g. url: redis://cache:6379/0.',
    ]);
    expect(issuesOf({ sources: [{ name: 'r', type: 'redis', url: 'redis://a', host: 'b' }] })[0]).toContain(
      'gives url and host, which do not go together',
    );
    expect(issuesOf({ sources: [{ name: 'r', type: 'redis', cluster: { nodes: ['h:7000'] }, dbs: [1] }] })).toEqual([
      'drkit.config.yaml: sources[0].dbs: a Redis Cluster has only database 0. Fix: remove dbs, or write dbs: [0].',
    ]);
    expect(issuesOf({ sources: [{ name: 'r', type: 'redis', url: 'http://cache' }] })[0]).toMatch(
      /sources\[0\]\.url: expected a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});
