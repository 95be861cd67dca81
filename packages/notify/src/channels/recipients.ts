import { type ContactConfig, ROLE_REFERENCE } from '@drkit/config';
import type { Delivery } from '../channel.js';

/**
 * Finds the contact (from `contacts:`) with a role; called at
 * send time, so a roster change applies to the next message.
 */
export type ContactLookup = (role: string) => ContactConfig | undefined;

/** `to:` entries made into addresses (`role:NAME` through the contacts), each once; roles that give none are listed. */
export function resolveRecipients(
  to: readonly string[],
  field: 'email' | 'phone',
  contact: ContactLookup | undefined,
): { addresses: string[]; unresolved: string[] } {
  const addresses = new Set<string>();
  const unresolved: string[] = [];
  for (const entry of to) {
    const role = ROLE_REFERENCE.exec(entry)?.[1];
    if (role === undefined) addresses.add(entry);
    else {
      const address = contact?.(role)?.[field];
      if (address) addresses.add(address);
      else unresolved.push(`${entry} (no contact with that role has ${field === 'email' ? 'an email' : 'a phone'})`);
    }
  }
  return { addresses: [...addresses], unresolved };
}

/** A part not sent because the caller cancelled the send. */
export const CANCELLED: Delivery = { ok: false, retryable: true, error: 'not sent: the send was cancelled' };

/**
 * Which parts (a call, a text, a recipient, an event) of each notification have reached their
 * receiver, so that a retry by this process sends only what failed. Forgets the oldest
 * notifications beyond `limit`; a new process sends every part again.
 */
export class DeliveredLegs {
  private readonly done = new Map<string, Set<string>>();
  constructor(private readonly limit = 1000) {}

  has(key: string, leg: string): boolean {
    return this.done.get(key)?.has(leg) ?? false;
  }

  add(key: string, leg: string): void {
    let legs = this.done.get(key);
    if (!legs) {
      if (this.done.size >= this.limit) this.done.delete(this.done.keys().next().value!);
      legs = new Set();
      this.done.set(key, legs);
    }
    legs.add(leg);
  }
}

/**
 * One Delivery from the parts of a send: delivered when every part was (and every role
 * resolved); else retryable when a failed part is (waiting as long as the longest Retry-After),
 * permanent otherwise. The message names what failed and what got through.
 */
export function combineLegs(
  results: ReadonlyArray<{ leg: string; delivery: Delivery }>,
  unresolved: readonly string[] = [],
): Delivery {
  const failed = results.filter((r) => !r.delivery.ok);
  const receipts = results.flatMap((r) => (r.delivery.ok && r.delivery.receipt ? [r.delivery.receipt] : []));
  if (failed.length === 0 && unresolved.length === 0)
    return { ok: true, ...(receipts.length ? { receipt: receipts.join(', ') } : {}) };
  const errors = [
    ...failed.map((r) => `${r.leg}: ${(r.delivery as { error: string }).error}`),
    ...unresolved.map((u) => `${u}: not sent`),
  ];
  const reached = results.filter((r) => r.delivery.ok).map((r) => r.leg);
  const retryable = failed.some((r) => !r.delivery.ok && r.delivery.retryable);
  const waits = failed.flatMap((r) =>
    !r.delivery.ok && r.delivery.retryable && r.delivery.retryAfterMs !== undefined ? [r.delivery.retryAfterMs] : [],
  );
  return {
    ok: false,
    retryable,
    ...(waits.length ? { retryAfterMs: Math.max(...waits) } : {}),
    error: `${errors.join('; ')}${reached.length ? ` (delivered: ${reached.join(', ')})` : ''}`,
  };
}
