import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { leaseBackendContract, openLeaseBackend, StateErrorCode } from '@drkit/state';
import { freePort, type RunningEtcd, startEtcd } from '@drkit/test-support';

let etcd: RunningEtcd;
beforeAll(async () => {
  etcd = await startEtcd();
}, 30_000);
afterAll(() => etcd?.stop());

leaseBackendContract({ describe, it, beforeEach, afterEach }, 'EtcdLeaseBackend', async () => {
  const options = { backend: 'etcd' as const, endpoints: [etcd.endpoint] };
  const backend = await openLeaseBackend(options);
  // A fresh keyspace per test: drkit's lease keys all start with drkit/.
  const cleanup = async () => {
    await fetch(`${etcd.url}/v3/kv/deleterange`, {
      method: 'POST',
      body: JSON.stringify({ key: btoa('drkit/'), range_end: btoa('drkit0') }),
    });
  };
  await cleanup();
  return { backend, options, cleanup };
});

describe('EtcdLeaseBackend', () => {
  it('says STATE_UNAVAILABLE, naming the endpoints, when etcd cannot be reached', async () => {
    const endpoint = `127.0.0.1:${await freePort()}`;
    const leases = await openLeaseBackend({ backend: 'etcd', endpoints: [endpoint] });
    try {
      const err = (await leases.acquire('site', 'h', 1000).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { code: string };
      expect(err).toMatchObject({ code: StateErrorCode.UNAVAILABLE });
      expect(err.message).toContain(`etcd http://${endpoint}`);
    } finally {
      await leases.close();
    }
  }, 60_000);
});
