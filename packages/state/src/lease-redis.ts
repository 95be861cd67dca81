import type { Redis } from 'ioredis';
import { maskUrl } from '@drkit/redis-source';
import { checkLeaseRequest, type Lease, type LeaseBackend, leaseLost } from './lease.js';
import { connectRedis } from './redis-connect.js';
import { attempt } from './stored.js';

// A lease is the string `<epoch> <holder>` with a PX expiry; its epoch counter a key beside it (one hash slot).
const key = (name: string) => `{drkit-lease:${name}}`;
const epochKey = (name: string) => `{drkit-lease:${name}}:epoch`;

/** KEYS: lease, epoch counter. ARGV: holder, ttl ms. Returns {granted, epoch, holder, pttl}. */
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v then
  local sp = string.find(v, ' ', 1, true)
  local holder = string.sub(v, sp + 1)
  if holder ~= ARGV[1] then return {0, tonumber(string.sub(v, 1, sp - 1)), holder, redis.call('PTTL', KEYS[1])} end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(string.sub(v, 1, sp - 1)), holder, tonumber(ARGV[2])}
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], epoch .. ' ' .. ARGV[1], 'NX', 'PX', ARGV[2])
return {1, epoch, ARGV[1], tonumber(ARGV[2])}`;

/** KEYS: lease. ARGV: `<epoch> <holder>`, ttl ms ('' to release). Only the holder's own value is touched. */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/** KEYS: lease. Returns {value, pttl} or {}. */
const CURRENT = `
local v = redis.call('GET', KEYS[1])
if not v then return {} end
return {v, redis.call('PTTL', KEYS[1])}`;

interface LeaseRedis extends Redis {
  drkitLeaseAcquire(
    lease: string,
    epoch: string,
    holder: string,
    ttl: string,
  ): Promise<[number, number, string, number]>;
  drkitLeaseRenew(lease: string, value: string, ttl: string): Promise<number>;
  drkitLeaseCurrent(lease: string): Promise<[string, number] | []>;
}

const UNREACHABLE_HINT =
  'Check that Redis is up and reachable from this host; until it is, nobody can take or renew the lease, ' +
  'and a holder must stop acting when its lease runs out.';

/**
 * Leases in Redis, for monitors on several hosts sharing one server: `SET NX PX` and the epoch
 * counter's INCR in one Lua script, renew and release compare the holder's `<epoch> <holder>`
 * value in Lua. The server's clock decides expiry; the holder's `expiresAt` counts from before
 * its request was sent, so it believes in its lease a little less long than the server does.
 */
export class RedisLeaseBackend implements LeaseBackend {
  private constructor(
    private readonly client: LeaseRedis,
    readonly location: string,
  ) {}

  static async open(url: string): Promise<RedisLeaseBackend> {
    const location = maskUrl(url);
    const client = await connectRedis<LeaseRedis>(url, location, (c) => {
      c.defineCommand('drkitLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
      c.defineCommand('drkitLeaseRenew', { numberOfKeys: 1, lua: RENEW });
      c.defineCommand('drkitLeaseCurrent', { numberOfKeys: 1, lua: CURRENT });
    });
    return new RedisLeaseBackend(client, location);
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    checkLeaseRequest(name, ttlMs);
    const start = Date.now();
    const [granted, epoch] = await this.call(`acquire the lease ${name}`, () =>
      this.client.drkitLeaseAcquire(key(name), epochKey(name), holder, String(ttlMs)),
    );
    return granted ? { name, holder, epoch, expiresAt: start + ttlMs } : undefined;
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    checkLeaseRequest(lease.name, ttlMs);
    const start = Date.now();
    const renewed = await this.call(`renew the lease ${lease.name}`, () =>
      this.client.drkitLeaseRenew(key(lease.name), `${lease.epoch} ${lease.holder}`, String(ttlMs)),
    );
    if (!renewed) throw leaseLost(lease, this.location, 'lapsed or passed to another holder');
    return { ...lease, expiresAt: start + ttlMs };
  }

  async release(lease: Lease): Promise<void> {
    await this.call(`release the lease ${lease.name}`, () =>
      this.client.drkitLeaseRenew(key(lease.name), `${lease.epoch} ${lease.holder}`, ''),
    );
  }

  async current(name: string): Promise<Lease | undefined> {
    checkLeaseRequest(name, 1);
    const start = Date.now();
    const reply = await this.call(`read the lease ${name}`, () => this.client.drkitLeaseCurrent(key(name)));
    if (reply.length === 0) return undefined;
    const [value, pttl] = reply;
    const sp = value.indexOf(' ');
    return { name, epoch: Number(value.slice(0, sp)), holder: value.slice(sp + 1), expiresAt: start + pttl };
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private call<R>(doing: string, run: () => Promise<R>): Promise<R> {
    return attempt(this.location, doing, run, UNREACHABLE_HINT);
  }
}
