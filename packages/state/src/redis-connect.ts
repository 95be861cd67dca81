import type { Redis } from 'ioredis';
import { loadIoredis, parseRedisUrl } from '@drkit/redis-source';
import { unavailable } from './stored.js';

/**
 * A connected ioredis client for the state store and the lease backend: `define` adds their Lua
 * scripts before connecting. STATE_UNAVAILABLE (naming `location`, the masked URL) when it cannot connect.
 */
export async function connectRedis<R extends Redis>(
  url: string,
  location: string,
  define: (client: R) => void,
): Promise<R> {
  let client: R;
  try {
    const parsed = parseRedisUrl(url);
    client = new (loadIoredis().Redis)({
      host: parsed.host,
      port: parsed.port,
      username: parsed.username,
      password: parsed.password,
      db: parsed.db ?? 0,
      ...(parsed.tls ? { tls: {} } : {}),
      lazyConnect: true,
      connectTimeout: 5_000,
      maxRetriesPerRequest: 2,
    }) as R;
  } catch (error) {
    throw unavailable(location, 'open', error);
  }
  client.on('error', () => {}); // each command reports its own failure
  define(client);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw unavailable(location, 'connect', error);
  }
  return client;
}
