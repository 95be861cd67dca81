import type { RedisSource } from '@drkit/backup-core';
import type { DrkitConfig, RedisSourceConfig } from '@drkit/config';
import type { RedisConnectionOptions, RedisEndpoint } from '@drkit/redis-source';

const endpoint = (text: string): RedisEndpoint => {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) };
};

/** The connection a config's redis source describes, in ioredis's terms. */
export function redisConnectionOf(s: RedisSourceConfig): RedisConnectionOptions {
  const tls =
    typeof s.tls === 'object'
      ? { caFile: s.tls.ca_file, rejectUnauthorized: s.tls.reject_unauthorized, servername: s.tls.servername }
      : s.tls;
  return {
    ...(s.url ? { url: s.url } : {}),
    ...(s.host ? { host: s.host, port: s.port ?? 6379 } : {}),
    ...(s.username ? { username: s.username } : {}),
    ...(s.password ? { password: s.password } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(s.sentinel
      ? {
          sentinel: {
            masterName: s.sentinel.master_name,
            nodes: s.sentinel.nodes.map(endpoint),
            username: s.sentinel.username,
            password: s.sentinel.password,
            readFrom: s.sentinel.read_from,
          },
        }
      : {}),
    ...(s.cluster ? { cluster: { nodes: s.cluster.nodes.map(endpoint) } } : {}),
  };
}

export function redisSourceOf(s: RedisSourceConfig): RedisSource {
  return {
    name: s.name,
    type: 'redis',
    connection: redisConnectionOf(s),
    ...(s.dbs ? { dbs: s.dbs } : {}),
    ...(s.pattern ? { pattern: s.pattern } : {}),
  };
}

/** The config's redis source of that name, if any. */
export function configRedisSource(config: DrkitConfig | undefined, name: string): RedisSourceConfig | undefined {
  return config?.sources.find((s): s is RedisSourceConfig => s.type === 'redis' && s.name === name);
}
