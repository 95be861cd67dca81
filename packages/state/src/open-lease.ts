import { StateError, StateErrorCode } from './errors.js';
import type { LeaseBackend, LeaseBackendOptions } from './lease.js';
import { FileLeaseBackend } from './lease-file.js';
import { RedisLeaseBackend } from './lease-redis.js';

/** The backend `options` name. etcd's client (gRPC) and ioredis load only when asked for. */
export async function openLeaseBackend(options: LeaseBackendOptions): Promise<LeaseBackend> {
  if (options.backend === 'file') return new FileLeaseBackend(options.path);
  if (options.backend === 'redis') return RedisLeaseBackend.open(options.url);
  if (options.backend === 'etcd') return new (await import('./lease-etcd.js')).EtcdLeaseBackend(options.endpoints);
  throw new StateError(
    StateErrorCode.BAD_LOCATION,
    `"${(options as { backend?: unknown }).backend}" is not a lease backend.`,
    {
      hint: 'Use backend: file (one host), redis (url) or etcd (endpoints).',
    },
  );
}
