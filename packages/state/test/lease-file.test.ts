import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileLeaseBackend, leaseBackendContract, openLeaseBackend } from '@drkit/state';
import { tempDir } from '@drkit/test-support';
import { readFile } from 'node:fs/promises';

leaseBackendContract({ describe, it, beforeEach, afterEach }, 'FileLeaseBackend', async () => {
  const { dir, cleanup } = await tempDir('drkit-lease-');
  const options = { backend: 'file' as const, path: path.join(dir, 'leases') };
  return { backend: await openLeaseBackend(options), options, cleanup };
});

describe('FileLeaseBackend on disk', () => {
  it('keeps a lease as <name>.json with its holder, epoch and expiry, and the epoch after release', async () => {
    const { dir, cleanup } = await tempDir('drkit-lease-');
    try {
      const leases = new FileLeaseBackend(dir);
      const lease = (await leases.acquire('failover/site', 'host:1:ab', 5000))!;
      const doc = JSON.parse(await readFile(path.join(dir, 'failover', 'site.json'), 'utf8'));
      expect(doc.value).toEqual({ holder: 'host:1:ab', epoch: 1, expiresAt: lease.expiresAt });
      await leases.release(lease);
      expect(JSON.parse(await readFile(path.join(dir, 'failover', 'site.json'), 'utf8')).value).toEqual({
        holder: 'host:1:ab',
        epoch: 1,
        expiresAt: 0,
      });
    } finally {
      await cleanup();
    }
  });
});
