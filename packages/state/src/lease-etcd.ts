import { Etcd3, type IKeyValue } from 'etcd3';
import { StateError, StateErrorCode } from './errors.js';
import { checkLeaseRequest, type Lease, type LeaseBackend, leaseLost } from './lease.js';
import { attempt } from './stored.js';

// Each lease a key bound to an etcd lease (it vanishes when that lapses) and an epoch counter key that outlives it.
const key = (name: string) => `drkit/leases/${name}`;
const epochKey = (name: string) => `drkit/lease-epochs/${name}`;
/** How long one call may take before the backend counts as unreachable. */
const CALL_MS = 5_000;

interface LeaseValue {
  holder: string;
  epoch: number;
  /** The etcd lease's TTL in seconds: a renewal with another TTL needs a new etcd lease. */
  ttl: number;
}

/** etcd's leases count whole seconds; a TTL rounds up, so the holder (counting `ttlMs`) gives up first. */
const seconds = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs / 1000));

const UNREACHABLE_HINT =
  'Check that etcd is up and reachable from this host (etcdctl --endpoints … endpoint health); until it is, ' +
  'nobody can take or renew the lease, and a holder must stop acting when its lease runs out.';

/**
 * Leases in etcd, for monitors on several machines (as Patroni does): acquiring grants an etcd
 * lease and, in one transaction, creates the lease key bound to it (only if it does not exist:
 * create revision 0) and bumps the epoch counter (only if unchanged since read: mod revision).
 * etcd deletes the key when its lease lapses, by its own clock; renew is a keep-alive of the
 * holder's own etcd lease, so it can never extend another holder's.
 */
export class EtcdLeaseBackend implements LeaseBackend {
  readonly location: string;
  private readonly client: Etcd3;

  constructor(endpoints: string[]) {
    const hosts = endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
    this.location = `etcd ${hosts.join(',')}`;
    if (hosts.length === 0)
      throw new StateError(StateErrorCode.BAD_LOCATION, 'An etcd lease backend needs at least one endpoint.', {
        hint: 'List the etcd members, e.g. endpoints: ["127.0.0.1:2379"].',
      });
    this.client = new Etcd3({
      hosts,
      dialTimeout: CALL_MS,
      defaultCallOptions: (c) => (c.isStream ? {} : { deadline: Date.now() + CALL_MS }),
    });
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    checkLeaseRequest(name, ttlMs);
    for (;;) {
      const start = Date.now();
      const held = await this.read(name);
      if (held) {
        if (held.value.holder !== holder) return undefined;
        return this.renew({ name, holder, epoch: held.value.epoch, expiresAt: 0 }, ttlMs);
      }
      const counter = await this.call(`read the epoch of ${name}`, () => this.client.get(epochKey(name)).exec());
      const epoch = Number(counter.kvs[0]?.value.toString() ?? '0') + 1;
      const id = await this.grant(name, ttlMs);
      const value: LeaseValue = { holder, epoch, ttl: seconds(ttlMs) };
      const txn = await this.call(`acquire the lease ${name}`, () =>
        this.client
          .if(key(name), 'Create', '==', 0)
          .and(epochKey(name), 'Mod', '==', counter.kvs[0]?.mod_revision ?? 0)
          .then(
            this.client.put(key(name)).value(JSON.stringify(value)).lease(id),
            this.client.put(epochKey(name)).value(String(epoch)),
          )
          .commit(),
      );
      if (txn.succeeded) return { name, holder, epoch, expiresAt: start + ttlMs };
      // Another acquirer came first: its key now exists, or the counter moved.
      await this.revoke(id);
    }
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    checkLeaseRequest(lease.name, ttlMs);
    const start = Date.now();
    const held = await this.read(lease.name);
    if (!held || held.value.holder !== lease.holder || held.value.epoch !== lease.epoch)
      throw leaseLost(lease, this.location, 'lapsed or passed to another holder');
    if (held.value.ttl === seconds(ttlMs)) {
      if (!(await this.keepAlive(held.kv.lease, lease.name))) throw leaseLost(lease, this.location, 'lapsed');
    } else {
      // Another TTL: bind the key to a new etcd lease, only if it is still the one just read.
      const id = await this.grant(lease.name, ttlMs);
      const txn = await this.call(`renew the lease ${lease.name}`, () =>
        this.client
          .if(key(lease.name), 'Mod', '==', held.kv.mod_revision)
          .then(
            this.client
              .put(key(lease.name))
              .value(JSON.stringify({ ...held.value, ttl: seconds(ttlMs) }))
              .lease(id),
          )
          .commit(),
      );
      if (!txn.succeeded) {
        await this.revoke(id);
        throw leaseLost(lease, this.location, 'lapsed or passed to another holder');
      }
      await this.revoke(held.kv.lease);
    }
    return { ...lease, expiresAt: start + ttlMs };
  }

  async release(lease: Lease): Promise<void> {
    const held = await this.read(lease.name);
    // Revoking the holder's own etcd lease deletes its key; a successor's key is bound to another lease.
    if (held && held.value.holder === lease.holder && held.value.epoch === lease.epoch)
      await this.revoke(held.kv.lease);
  }

  async current(name: string): Promise<Lease | undefined> {
    checkLeaseRequest(name, 1);
    const start = Date.now();
    const held = await this.read(name);
    if (!held) return undefined;
    const ttl = await this.call(`read the lease ${name}`, () =>
      this.client.leaseClient.leaseTimeToLive({ ID: held.kv.lease }),
    );
    // Whole seconds left, rounded down (0: under a second); -1 once it has lapsed.
    const left = Number(ttl.TTL);
    return left >= 0
      ? { name, holder: held.value.holder, epoch: held.value.epoch, expiresAt: start + left * 1000 }
      : undefined;
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async read(name: string): Promise<{ kv: IKeyValue; value: LeaseValue } | undefined> {
    const res = await this.call(`read the lease ${name}`, () => this.client.get(key(name)).exec());
    const kv = res.kvs[0];
    if (!kv) return undefined;
    let value: LeaseValue;
    try {
      value = JSON.parse(kv.value.toString()) as LeaseValue;
    } catch {
      value = { holder: '', epoch: 0, ttl: 0 };
    }
    if (typeof value?.holder !== 'string' || !Number.isSafeInteger(value.epoch))
      throw new StateError(
        StateErrorCode.DAMAGED,
        `The etcd key ${key(name)} (${this.location}) does not hold a drkit lease.`,
        {
          hint:
            'Something other than drkit wrote it. Delete it (etcdctl del) once no drkit process acts on that ' +
            'lease.',
          details: { key: key(name) },
        },
      );
    return { kv, value };
  }

  private async grant(name: string, ttlMs: number): Promise<string> {
    return (
      await this.call(`grant a lease for ${name}`, () => this.client.leaseClient.leaseGrant({ TTL: seconds(ttlMs) }))
    ).ID;
  }

  private async revoke(id: string): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: id }).catch(() => {}); // lapses at its TTL anyway
  }

  /** One keep-alive of etcd lease `id`; false when etcd says it has lapsed. */
  private async keepAlive(id: string, name: string): Promise<boolean> {
    return this.call(`renew the lease ${name}`, async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive({ deadline: Date.now() + CALL_MS });
      try {
        const reply = await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: id });
        });
        return Number(reply.TTL) > 0;
      } finally {
        stream.end();
      }
    });
  }

  private call<R>(doing: string, run: () => Promise<R>): Promise<R> {
    return attempt(this.location, doing, run, UNREACHABLE_HINT);
  }
}
