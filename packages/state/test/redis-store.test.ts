import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore, StateErrorCode, stateStoreContract } from '@drkit/state';
import { type RunningRedis, startRedis } from '@drkit/test-support';

let redis: RunningRedis;
let db = 0;
beforeAll(async () => {
  redis = await startRedis({ password: 's3cret' });
});
afterAll(() => redis?.stop());

// A fresh database per test: the server has 16.
stateStoreContract({ describe, it, beforeEach, afterEach }, 'RedisStateStore', async () => {
  const n = db++ % 16;
  const location = `${redis.url}/${n}`;
  const store = await openStateStore(location);
  await redis.client(n).flushdb();
  return { store, location };
});

describe('RedisStateStore connection', () => {
  it('masks the password in its location and in errors when the server cannot be reached', async () => {
    const store = await openStateStore(`${redis.url}/15`);
    expect(store.location).toBe(`redis://:***@127.0.0.1:${redis.port}/15`);
    await store.close();
    const err = (await openStateStore('redis://:s3cret@127.0.0.1:1/0').then(
      () => undefined,
      (e: unknown) => e,
    )) as Error & { code: string };
    expect(err).toMatchObject({ code: StateErrorCode.UNAVAILABLE });
    expect(err.message).toContain('redis://:***@127.0.0.1:1/0');
    expect(err.message).not.toContain('s3cret');
  });
});
