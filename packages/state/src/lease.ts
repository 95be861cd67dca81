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
