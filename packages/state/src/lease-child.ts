// A second process for the lease contract (lease-contract.ts). `race OPTIONS NAME TTL HOLDS LOG`
// takes the lease HOLDS times with jittered starts, writing `start`/`end` lines to LOG around each
// hold; `hold OPTIONS NAME TTL` takes it once, prints `held EPOCH`, and renews it until killed.
import { appendFileSync } from 'node:fs';
import { leaseHolderId, type LeaseBackendOptions } from './lease.js';
import { openLeaseBackend } from './open-lease.js';

const [mode, options, name, ttl, holds, log] = process.argv.slice(2);
const ttlMs = Number(ttl);
const backend = await openLeaseBackend(JSON.parse(options!) as LeaseBackendOptions);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (mode === 'race') {
  for (let held = 0; held < Number(holds); ) {
    await sleep(Math.random() * 5);
    const lease = await backend.acquire(name!, leaseHolderId(), ttlMs);
    if (!lease) continue;
    appendFileSync(log!, `start ${lease.epoch} ${lease.holder}\n`);
    await sleep(1 + Math.random() * 3);
    appendFileSync(log!, `end ${lease.epoch} ${lease.holder}\n`);
    await backend.release(lease);
    held++;
  }
  await backend.close();
  process.stdout.write('done\n');
} else if (mode === 'hold') {
  let lease = await backend.acquire(name!, leaseHolderId(), ttlMs);
  while (!lease) {
    await sleep(ttlMs / 10);
    lease = await backend.acquire(name!, leaseHolderId(), ttlMs);
  }
  process.stdout.write(`held ${lease.epoch}\n`);
  for (;;) {
    await sleep(ttlMs / 4);
    lease = await backend.renew(lease, ttlMs);
  }
}
