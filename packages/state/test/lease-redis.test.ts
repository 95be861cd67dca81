import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { leaseBackendContract, openLeaseBackend, StateErrorCode } from '@drkit/state';
import { type RunningRedis, startRedis } from '@drkit/test-support';

let redis: RunningRedis;
let db = 0;
beforeAll(async () => {
  redis = await startRedis({ password: 's3cret' });
});
afterAll(() => redis?.stop());

// A fresh database per test: the server has 16.
leaseBackendContract({ describe, it, beforeEach, afterEach }, 'RedisLeaseBackend', async () => {
  const n = db++ % 16;
  await redis.client(n).flushdb();
  const options = { backend: 'redis' as const, url: `${redis.url}/${n}` };
  return { backend: await openLeaseBackend(options), options };
});

describe('RedisLeaseBackend', () => {
  it('keeps a lease as one key `<epoch> <holder>` with a PX expiry, and its epoch counter beside it', async () => {
    const leases = await openLeaseBackend({ backend: 'redis', url: `${redis.url}/15` });
    try {
      await redis.client(15).flushdb();
      const lease = (await leases.acquire('failover/site', 'host:1:ab', 5000))!;
      expect(await redis.client(15).get('{drkit-lease:failover/site}')).toBe(`${lease.epoch} host:1:ab`);
      expect(await redis.client(15).pttl('{drkit-lease:failover/site}')).toBeGreaterThan(4000);
      await leases.release(lease);
      expect(await redis.client(15).get('{drkit-lease:failover/site}:epoch')).toBe('1');
    } finally {
      await leases.close();
    }
  });

  it('says STATE_UNAVAILABLE, with the password masked, when the server cannot be reached', async () => {
    const err = (await openLeaseBackend({ backend: 'redis', url: 'redis://:s3cret@127.0.0.1:1/0' }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error & { code: string };
    expect(err).toMatchObject({ code: StateErrorCode.UNAVAILABLE });
    expect(err.message).toContain('redis://:***@127.0.0.1:1/0');
    expect(err.message).not.toContain('s3cret');
  });
});
