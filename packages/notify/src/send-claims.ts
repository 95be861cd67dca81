import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { processAlive, type StateStore, updateEntry } from '@drkit/state';
import type { Clock } from './clock.js';

/** Who sends a message: the process (its host and pid) and the Outbox in it. */
export interface Sender {
  host: string;
  pid: number;
  run: string;
}

/**
 * The `sending` document: the messages being sent right now, each with its sender and when that claim runs out (ms).
 */
export interface SendingDocument {
  claims: Record<string, { by: Sender; until: number }>;
}

export const SENDING_KEY = 'sending';
/** CAS retries before a claim gives up: two daemons contending for one document, not a fault. */
const CLAIM_ATTEMPTS = 100;

const HOST = hostname();

/** A claim is over when it ran out, or its sender was on this host and is gone (a kill -9: taken over at once). */
function over(claim: { by: Sender; until: number }, now: number): boolean {
  return claim.until <= now || (claim.by.host === HOST && claim.by.pid !== process.pid && !processAlive(claim.by.pid));
}

/**
 * Claims for sending, one document for all messages: each message is claimed before it is sent,
 * so two processes never both send it, but the claims asked for while one write of the document
 * runs go together in the next write (like the folder store's group commit). A message claimed
 * by another live sender is refused until its claim runs out. Finished messages leave the
 * document at the next write, or at `close()`.
 */
export class SendClaims {
  readonly sender: Sender = { host: HOST, pid: process.pid, run: randomBytes(4).toString('hex') };
  private asked: { id: string; settle: (until: number | undefined) => void; fail: (error: unknown) => void }[] = [];
  /** Claimed by this sender and in the document. */
  private readonly held = new Set<string>();
  /** Held, and finished with: to leave the document at the next write. */
  private readonly done = new Set<string>();
  private writing: Promise<void> | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly claimMs: number,
  ) {}

  /** Resolves to undefined once the message is claimed (durably), else to when another sender's claim runs out (ms). */
  claim(id: string): Promise<number | undefined> {
    const answer = new Promise<number | undefined>((settle, fail) => this.asked.push({ id, settle, fail }));
    this.writing ??= this.writeAll();
    return answer;
  }

  /** The message is sent and recorded (or not sent at all): its claim goes at the next write. */
  release(id: string): void {
    if (this.held.has(id)) this.done.add(id);
  }

  /** Removes this sender's remaining claims (one write, none if there are none). */
  async close(): Promise<void> {
    await this.writing;
    for (const id of this.held) this.done.add(id);
    if (this.done.size) {
      this.writing ??= this.writeAll();
      await this.writing;
    }
  }

  /** Writes the document until nothing is asked for or waiting to leave it. */
  private async writeAll(): Promise<void> {
    try {
      while (this.asked.length || this.done.size) await this.writeOnce();
    } finally {
      this.writing = undefined;
    }
  }

  private async writeOnce(): Promise<void> {
    const batch = this.asked.splice(0);
    const leaving = new Set(this.done);
    const refused = new Map<string, number>();
    try {
      await updateEntry<SendingDocument>(
        this.store,
        SENDING_KEY,
        (doc) => {
          const now = this.clock.now();
          const claims: SendingDocument['claims'] = {};
          for (const [id, claim] of Object.entries(doc?.claims ?? {}))
            if (!over(claim, now) && !(leaving.has(id) && this.mine(claim.by))) claims[id] = claim;
          refused.clear();
          for (const { id } of batch) {
            const other = claims[id];
            if (other && !this.mine(other.by)) refused.set(id, other.until);
            else claims[id] = { by: this.sender, until: now + this.claimMs };
          }
          return { claims };
        },
        CLAIM_ATTEMPTS,
      );
    } catch (error) {
      for (const { fail } of batch) fail(error);
      return;
    } finally {
      // Failed or not, these are not tried again: a claim left behind runs out by itself.
      for (const id of leaving) {
        this.done.delete(id);
        this.held.delete(id);
      }
    }
    for (const { id, settle } of batch) {
      if (!refused.has(id)) this.held.add(id);
      settle(refused.get(id));
    }
  }

  private mine(by: Sender): boolean {
    return by.host === this.sender.host && by.pid === this.sender.pid && by.run === this.sender.run;
  }
}
