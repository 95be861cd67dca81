import { StateErrorCode } from './errors.js';
import { FolderStateStore } from './folder-store.js';
import { checkLeaseRequest, type Lease, type LeaseBackend, leaseLost } from './lease.js';
import type { StateEntry } from './store.js';

interface LeaseDocument {
  holder: string;
  epoch: number;
  /** ms since 1970 by this host's clock; 0 once released (the epoch stays). */
  expiresAt: number;
}

/**
 * Leases for monitors on one host: each lease a state document `<name>.json` in a folder, changed
 * only by a conditional write under its lock file (FolderStateStore: fsynced temp file, rename, a
 * dead writer's lock removed), so two processes never both see it free. A holder killed with
 * SIGKILL leaves its lease to lapse at its TTL, by this host's clock. Released leases keep their
 * document, so the epoch only grows.
 */
export class FileLeaseBackend implements LeaseBackend {
  private readonly store: FolderStateStore;

  constructor(dir: string) {
    this.store = new FolderStateStore(dir);
  }

  get location(): string {
    return this.store.location;
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    checkLeaseRequest(name, ttlMs);
    return this.change(name, (doc, now) => {
      if (doc && doc.holder !== holder && doc.expiresAt > now) return undefined;
      const keeps = doc !== undefined && doc.holder === holder && doc.expiresAt > now;
      return { holder, epoch: keeps ? doc.epoch : (doc?.epoch ?? 0) + 1, expiresAt: now + ttlMs };
    });
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    checkLeaseRequest(lease.name, ttlMs);
    const renewed = await this.change(lease.name, (doc, now) =>
      held(doc, lease, now) ? { ...doc!, expiresAt: now + ttlMs } : undefined,
    );
    if (!renewed) throw leaseLost(lease, this.location, 'lapsed or passed to another holder');
    return renewed;
  }

  async release(lease: Lease): Promise<void> {
    await this.change(lease.name, (doc, now) => (held(doc, lease, now) ? { ...doc!, expiresAt: 0 } : undefined));
  }

  async current(name: string): Promise<Lease | undefined> {
    const doc = (await this.store.get<LeaseDocument>(name))?.value;
    return doc && doc.expiresAt > Date.now() ? { name, ...doc } : undefined;
  }

  async close(): Promise<void> {}

  /** Writes what `decide` makes of the document (undefined: leave it), retrying when another writer came first. */
  private async change(
    name: string,
    decide: (doc: LeaseDocument | undefined, now: number) => LeaseDocument | undefined,
  ): Promise<Lease | undefined> {
    for (;;) {
      const entry: StateEntry<LeaseDocument> | undefined = await this.store.get<LeaseDocument>(name);
      const next = decide(entry?.value, Date.now());
      if (!next) return undefined;
      try {
        await this.store.put(name, next, { ifRevision: entry?.revision ?? 0 });
        return { name, ...next };
      } catch (error) {
        if ((error as { code?: string }).code !== StateErrorCode.CONFLICT) throw error;
      }
    }
  }
}

function held(doc: LeaseDocument | undefined, lease: Lease, now: number): boolean {
  return doc !== undefined && doc.holder === lease.holder && doc.epoch === lease.epoch && doc.expiresAt > now;
}
