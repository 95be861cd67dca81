import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { StateError, StateErrorCode } from './errors.js';
import { checkKey } from './keys.js';

/**
 * Leases: a named, time-limited right to act, held by one process at a time, with a fencing
 * epoch. The scheduler takes one per job slot (each slot runs once across replicas) and the
 * failover monitor one per site (one actor per failover). The contract only; backends (a file
 * for one host, Redis, etcd) implement it and pass one contract suite.
 */
export interface Lease {
  name: string;
  /** Who holds it: unique per process and attempt (e.g. `host:pid:random`), shown to operators. */
  holder: string;
  /**
   * The fencing token: grows by one every time the lease is granted to a holder after being free
   * or expired (never on a renewal). Hand it to every action so that an action can refuse a
   * holder whose lease has since passed to another (a stale epoch).
   */
  epoch: number;
  /** When it lapses unless renewed (ms since 1970, by the backend's clock where it has one). */
  expiresAt: number;
}

export interface LeaseBackend {
  /** Where the leases live, for messages; secrets masked. */
  readonly location: string;
  /** Takes the lease if it is free or expired, or renews it if `holder` holds it; undefined if another holds it. */
  acquire(name: string, holder: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a held lease; fails with STATE_LEASE_LOST when it lapsed or passed to another holder. */
  renew(lease: Lease, ttlMs: number): Promise<Lease>;
  /** Gives it up at once (no-op if it already passed to another holder). */
  release(lease: Lease): Promise<void>;
  /** The lease as it stands, if held and not expired. */
  current(name: string): Promise<Lease | undefined>;
  close(): Promise<void>;
}

/**
 * Where a lease backend lives: what `openLeaseBackend` takes (and what `failover.lease` and the scheduler's config
 * give).
 */
export type LeaseBackendOptions =
  | { backend: 'file' /** A folder on this host. */; path: string }
  | { backend: 'redis'; url: string }
  | { backend: 'etcd' /** `host:port` or `http(s)://host:port`. */; endpoints: string[] };

/** A holder name unique to this process and call: `host:pid:random`. */
export function leaseHolderId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * The lease's name is a state key (so a file name and a Redis or etcd key), its TTL whole milliseconds from 1 ms to a
 * day.
 */
export function checkLeaseRequest(name: string, ttlMs: number): void {
  checkKey(name);
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > 86_400_000)
    throw new StateError(
      StateErrorCode.BAD_LEASE,
      `A lease TTL of ${ttlMs} ms for "${name}" is not whole milliseconds from 1 ms to a day.`,
      {
        hint: 'This is a bug in the caller: pass the TTL in milliseconds.',
      },
    );
}

/** STATE_LEASE_LOST: the holder must stop acting at once. */
export function leaseLost(lease: Lease, location: string, now: string): StateError {
  return new StateError(
    StateErrorCode.LEASE_LOST,
    `The lease "${lease.name}" (epoch ${lease.epoch}, held by ${lease.holder}) at ${location} ${now}.`,
    {
      hint:
        'Another process may act now: stop what this lease guarded. It lapsed because it was not renewed ' +
        'within its TTL (a stalled process, a slow or unreachable backend); acquire it again to go on.',
      details: { name: lease.name, epoch: lease.epoch, holder: lease.holder, location },
    },
  );
}
