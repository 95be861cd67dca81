import type { Redis } from 'ioredis';
import { maskUrl } from '@drkit/redis-source';
import { connectRedis } from './redis-connect.js';
import { checkKey, checkPrefix } from './keys.js';
import { attempt, checkRevision, checkValue, parseStored, unavailable } from './stored.js';
import type { StateEntry, StateStore, WriteOptions } from './store.js';

// One hash slot for every key (`{drkit-state}`), so the scripts may touch a document and the index together, on a
// cluster too.
const DOC_PREFIX = '{drkit-state}:doc:';
const INDEX = '{drkit-state}:keys';

/**
 * KEYS: document, index. ARGV: expected revision ('' = any), stored JSON without the revision, key. Returns {written,
 * revision}.
 */
const PUT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then return {0, current} end
redis.call('HSET', KEYS[1], 'revision', current + 1, 'doc', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
return {1, current + 1}`;

/** KEYS: document, index. ARGV: expected revision ('' = any), key. Returns {deleted, revision}. */
const DELETE = `
local current = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then return {0, current} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return {1, current}`;

interface ScriptedRedis extends Redis {
  drkitStatePut(doc: string, index: string, ifRevision: string, stored: string, key: string): Promise<[number, number]>;
  drkitStateDelete(doc: string, index: string, ifRevision: string, key: string): Promise<[number, number]>;
}

/**
 * The state store in Redis, for several daemons on several hosts: each key a hash (revision,
 * document), conditional writes as Lua scripts (atomic on the server), and a sorted set of keys
 * for `list` by prefix (ZRANGEBYLEX). Durable as far as the server's persistence is: run it with
 * `appendonly yes`.
 */
export class RedisStateStore implements StateStore {
  private constructor(
    private readonly client: ScriptedRedis,
    readonly location: string,
  ) {}

  static async open(url: string): Promise<RedisStateStore> {
    const location = maskUrl(url);
    const client = await connectRedis<ScriptedRedis>(url, location, (c) => {
      c.defineCommand('drkitStatePut', { numberOfKeys: 2, lua: PUT });
      c.defineCommand('drkitStateDelete', { numberOfKeys: 2, lua: DELETE });
    });
    return new RedisStateStore(client, location);
  }

  async get<T = unknown>(key: string): Promise<StateEntry<T> | undefined> {
    checkKey(key);
    const [revision, doc] = (await this.call(`read ${key}`, () =>
      this.client.hmget(DOC_PREFIX + key, 'revision', 'doc'),
    )) as [string | null, string | null];
    return revision === null || doc === null
      ? undefined
      : parseStored<T>(key, `{"revision":${revision},${doc.slice(1)}`, this.location);
  }

  async put<T>(key: string, value: T, options: WriteOptions = {}): Promise<StateEntry<T>> {
    checkKey(key);
    checkValue(key, value);
    const updatedAt = new Date().toISOString();
    const stored = JSON.stringify({ updatedAt, value });
    const [written, revision] = await this.call(`write ${key}`, () =>
      this.client.drkitStatePut(DOC_PREFIX + key, INDEX, String(options.ifRevision ?? ''), stored, key),
    );
    if (!written) checkRevision(key, revision, options);
    return { key, value, revision, updatedAt };
  }

  async delete(key: string, options: WriteOptions = {}): Promise<boolean> {
    checkKey(key);
    const [deleted, revision] = await this.call(`delete ${key}`, () =>
      this.client.drkitStateDelete(DOC_PREFIX + key, INDEX, String(options.ifRevision ?? ''), key),
    );
    if (!deleted) checkRevision(key, revision, options);
    return revision > 0;
  }

  async *list<T = unknown>(prefix: string): AsyncIterable<StateEntry<T>> {
    checkPrefix(prefix);
    // Keys are ASCII, so every key that starts with the prefix sorts before prefix + U+00FF.
    const keys = await this.call(`list ${prefix}`, () =>
      prefix === ''
        ? this.client.zrangebylex(INDEX, '-', '+')
        : this.client.zrangebylex(INDEX, `[${prefix}`, `[${prefix}\u00ff`),
    );
    for (let i = 0; i < keys.length; i += 256) {
      const batch = keys.slice(i, i + 256);
      const pipeline = this.client.pipeline();
      for (const key of batch) pipeline.hmget(DOC_PREFIX + key, 'revision', 'doc');
      const replies = await this.call(`list ${prefix}`, () => pipeline.exec());
      for (const [index, key] of batch.entries()) {
        const [error, reply] = replies?.[index] ?? [new Error('no reply')];
        if (error) throw unavailable(this.location, `list ${prefix}`, error);
        const [revision, doc] = reply as [string | null, string | null];
        // Deleted since the index was read.
        if (revision !== null && doc !== null)
          yield parseStored<T>(key, `{"revision":${revision},${doc.slice(1)}`, this.location);
      }
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private call<R>(doing: string, run: () => Promise<R>): Promise<R> {
    return attempt(this.location, doing, run);
  }
}
