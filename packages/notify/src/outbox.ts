import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { failpoint } from '@drkit/errors';
import { processAlive, type StateEntry, type StateStore } from '@drkit/state';
import * as z from 'zod';
import { type Channel, type Delivery, NOTIFICATION_KINDS, type Notification } from './channel.js';
import { type Clock, iso, ms } from './clock.js';
import { NotifyError, NotifyErrorCode } from './errors.js';
import { KEYS } from './incidents.js';
import { incidentSchema, SEVERITIES } from './model.js';
import { indexOf, recordsOf, SegmentWriter } from './segments.js';
import { SendClaims } from './send-claims.js';

const isoTime = z.iso.datetime({ offset: true });

export const OUTBOX_STATES = ['pending', 'delivered', 'failed', 'expired'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const notificationSchema = z.object({
  idempotencyKey: z.string(),
  kind: z.enum(NOTIFICATION_KINDS),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  text: z.string(),
  incidents: z.array(incidentSchema),
});

/** One message to one channel, written before it is sent and updated after every attempt. */
export const outboxRecordSchema = z.object({
  id: z.string(),
  channel: z.string(),
  notification: notificationSchema,
  createdAt: isoTime,
  /** The deadline (event time + the route's `within`, or a digest window's end). */
  dueBy: isoTime,
  /** Given up (state `expired`) if still undelivered then. */
  expiresAt: isoTime,
  state: z.enum(OUTBOX_STATES),
  attempts: z.int().min(0),
  /** When the next attempt may start. */
  nextAttemptAt: isoTime,
  /**
   * A claim in the record, as drkit wrote them before the `sending` document (then nextAttemptAt was its end); still
   * honoured, no longer written.
   */
  sendingSince: isoTime.optional(),
  /** That claim's process: on its own host, a claim whose process is gone is taken over at once. */
  claimedBy: z.object({ host: z.string(), pid: z.int() }).optional(),
  deliveredAt: isoTime.optional(),
  /** When it became delivered, failed or expired. */
  finishedAt: isoTime.optional(),
  lastError: z.string().optional(),
  receipt: z.string().optional(),
  /** Where a permanent failure is reported: the route's other channels; empty: the log (console). */
  fallback: z.array(z.string()),
});
export type OutboxRecord = z.infer<typeof outboxRecordSchema>;

/** A channel that answered 429 (Retry-After) or kept failing: nothing is sent to it before `until`. */
interface Hold {
  until: string;
  failures: number;
  reason: string;
}

export interface DeliveryReport {
  delivered: number;
  /** Attempted and failed for now: tried again later. */
  retrying: number;
  /** Failed for good (the receiver refused it) or expired: reported on another channel. */
  failed: number;
  expired: number;
  /** Still waiting: not due yet, or its channel held. */
  waiting: number;
  /** The earliest time something still pending may be sent (ms), if anything is pending. */
  nextAttemptAt?: number;
}

export interface OutboxOptions {
  store: StateStore;
  channels: ReadonlyMap<string, Channel>;
  clock: Clock;
  /** Where a failure with nowhere else to go is said (the CLI: stderr). */
  log: (line: string) => void;
  /** Jitter's random source, in [0, 1). */
  random?: () => number;
  /**
   * Messages in flight at once: being claimed, sent or recorded (each channel's messages about one incident go one at a
   * time, in order). Default 64: each message waits for two durable writes, and those, not the sends, bound the rate.
   */
  concurrency?: number;
  /** Sends to one channel at once (requests or SMTP sessions a receiver sees from this process). Default 16. */
  perChannel?: number;
}

/**
 * Retry delays: 2 s doubling to 5 min, each between half and all of that ("equal jitter"), never before a Retry-After.
 */
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_CAP_MS = 5 * 60_000;
/** A claim lasts this long: a sender on another host killed mid-send leaves the message to be sent again after it. */
const CLAIM_MS = 2 * 60_000;
const HOST = hostname();
/** Delivered, failed and expired records are kept this long for `notify status`, then removed. */
export const KEEP_FINISHED_MS = 7 * 24 * 60 * 60_000;
const SEND_TIMEOUT_MS = 60_000;

/**
 * Sends, aborting the adapter after SEND_TIMEOUT_MS (a controller and a timer: a tenth of AbortSignal.timeout's cost).
 */
async function sendWithin(channel: Channel, notification: Notification): Promise<Delivery> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), SEND_TIMEOUT_MS);
  try {
    return await channel.send(notification, { signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** In id order, by code unit (as the state store lists keys). */
const inIdOrder = (a: ListedRecord, b: ListedRecord) =>
  a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0;

function parseRecord(key: string, raw: unknown): OutboxRecord {
  const parsed = outboxRecordSchema.safeParse(raw);
  if (!parsed.success)
    throw new NotifyError(
      NotifyErrorCode.DAMAGED,
      `The outbox document ${key} holds a record that does not match its schema: ` +
        `${parsed.error.issues[0]?.message ?? 'invalid'}.`,
      {
        hint: 'Something other than drkit changed it: move it aside (the messages it held are then not sent).',
        details: { key },
      },
    );
  return parsed.data;
}

/** A message as listed: its record, the segment it is in, and its JSON there (what a change expects to find). */
export interface ListedRecord {
  record: OutboxRecord;
  key: string;
  listed: string;
}

/** A segment as listed: the ids of the records in it. */
interface ListedSegment {
  key: string;
  revision: number;
  ids: string[];
}

/** Messages queued together share a segment document of up to this many (a segment is rewritten whole)... */
const SEGMENT_RECORDS = 32;
/** ...and of up to this much JSON (characters), so that large records (digests of many incidents) share less. */
const SEGMENT_BYTES = 64 * 1024;

/**
 * The durable outbox: every message is written to a state document (a segment of messages queued together) before it
 * is sent, and after each attempt the segment says what happened.
 */
export class Outbox {
  private readonly random: () => number;
  private readonly concurrency: number;
  private readonly perChannel: number;
  /** Each channel's sends in progress, and those waiting their turn. */
  private readonly turns = new Map<string, { active: number; waiting: (() => void)[] }>();
  private readonly segments: SegmentWriter;
  /** This process's segments are named `outbox/<time>.<run>.<n>`: no other process appends to them. */
  private readonly run = randomBytes(4).toString('hex');
  private serial = 0;
  /** The segment being filled: how many records it holds, and their JSON's length. */
  private open: { key: string; count: number; bytes: number } | undefined;
  /** Reads of a segment asked for and not yet started (see `unchanged`). */
  private readonly reads = new Map<string, Promise<StateEntry | undefined>>();

  constructor(private readonly options: OutboxOptions) {
    this.random = options.random ?? Math.random;
    this.concurrency = options.concurrency ?? 64;
    this.perChannel = options.perChannel ?? 16;
    this.segments = new SegmentWriter(options.store);
  }

  /** A new pending record (not yet written). */
  record(init: {
    id: string;
    channel: string;
    notification: Notification;
    dueBy: number;
    expireAfterMs: number;
    fallback: string[];
  }): OutboxRecord {
    const now = this.options.clock.now();
    return {
      id: init.id,
      channel: init.channel,
      notification: init.notification,
      createdAt: iso(now),
      dueBy: iso(init.dueBy),
      expiresAt: iso(Math.max(init.dueBy, now) + init.expireAfterMs),
      state: 'pending',
      attempts: 0,
      nextAttemptAt: iso(now),
      fallback: init.fallback.filter((c) => c !== init.channel),
    };
  }

  /**
   * Writes records (durably when it resolves), appended to this process's open segment. A message queued again (a
   * crash before its caller noted it queued) is a second copy of the same id; `list` counts it once.
   */
  async enqueue(records: OutboxRecord[]): Promise<void> {
    if (records.length === 0) return;
    const parts = new Map<string, OutboxRecord[]>();
    for (const record of records) {
      const bytes = JSON.stringify(record).length;
      let open = this.open;
      if (!open || open.count >= SEGMENT_RECORDS || (open.count > 0 && open.bytes + bytes > SEGMENT_BYTES))
        this.open = open = { key: this.segmentKey(), count: 0, bytes: 0 };
      open.count++;
      open.bytes += bytes;
      const part = parts.get(open.key);
      if (part) part.push(record);
      else parts.set(open.key, [record]);
    }
    await Promise.all([...parts].map(([key, part]) => this.segments.write(key, { append: part })));
    await failpoint('notify.outbox.after-record');
  }

  private segmentKey(): string {
    const stamp = iso(this.options.clock.now()).replace(/[-:.]/g, '');
    return KEYS.outbox(`${stamp}.${this.run}.${(this.serial++).toString().padStart(4, '0')}`);
  }

  /** Every message, in id order; of copies of one message, the first listed counts, unless a later one finished. */
  async all(): Promise<ListedRecord[]> {
    return (await this.list()).records;
  }

  private async list(): Promise<{ records: ListedRecord[]; segments: ListedSegment[] }> {
    const byId = new Map<string, ListedRecord>();
    const segments: ListedSegment[] = [];
    for await (const entry of this.options.store.list('outbox/')) {
      const ids: string[] = [];
      for (const raw of recordsOf(entry.value)) {
        const record = parseRecord(entry.key, raw);
        ids.push(record.id);
        const first = byId.get(record.id);
        if (!first || (first.record.state === 'pending' && record.state !== 'pending'))
          byId.set(record.id, { record, key: entry.key, listed: JSON.stringify(raw) });
      }
      segments.push({ key: entry.key, revision: entry.revision, ids });
    }
    const records = [...byId.values()].sort(inIdOrder);
    return { records, segments };
  }

  private async holds(): Promise<Map<string, Hold>> {
    const holds = new Map<string, Hold>();
    for await (const entry of this.options.store.list<Hold>('holds/'))
      holds.set(entry.key.slice('holds/'.length), entry.value);
    return holds;
  }

  /**
   * Sends every pending message that is due, once: expired ones are given up, finished ones past
   * their keep time removed. Messages to one channel about one incident go in order, one at a time.
   */
  async deliver(options: { only?: (record: OutboxRecord) => boolean } = {}): Promise<DeliveryReport> {
    const { clock, store } = this.options;
    const now = clock.now();
    const report: DeliveryReport = { delivered: 0, retrying: 0, failed: 0, expired: 0, waiting: 0 };
    const holds = await this.holds();
    // Failures count once per run and channel: ten messages failing at once are one failure of the receiver.
    const failuresBefore = new Map([...holds].map(([channel, hold]) => [channel, hold.failures]));
    const groups = new Map<string, ListedRecord[]>();
    const later = (at: number) => {
      report.nextAttemptAt = Math.min(report.nextAttemptAt ?? at, at);
    };
    const { records, segments } = await this.list();
    await this.prune(records, segments, now);
    const expiring: Promise<void>[] = [];
    for (const item of records) {
      const { record } = item;
      if (options.only && !options.only(record)) continue;
      if (record.state !== 'pending') continue;
      if (ms(record.expiresAt) <= now) {
        // All at once: the records of one segment then go in a few writes, not one write each.
        expiring.push(
          this.finish(item, {
            state: 'expired',
            lastError:
              `not delivered by ${record.expiresAt}` +
              `${record.lastError ? ` (last error: ${record.lastError})` : ''}`,
          }),
        );
        report.expired++;
        continue;
      }
      // One channel's messages about the same incidents, oldest first: a resolve never overtakes its open.
      const group = `${record.channel}\u0000${record.notification.incidents.map((i) => i.id).join(',') || record.id}`;
      groups.set(group, [...(groups.get(group) ?? []), item]);
    }
    await Promise.all(expiring);
    const oldestFirst = (a: { record: OutboxRecord }, b: { record: OutboxRecord }) =>
      a.record.createdAt.localeCompare(b.record.createdAt) || a.record.id.localeCompare(b.record.id);
    // Groups start oldest first, several at once; only within a group is the order kept.
    const queue = [...groups.values()]
      .map((items) => items.sort(oldestFirst))
      .sort((a, b) => oldestFirst(a[0]!, b[0]!));
    // A channel that has been failing gets one message (a probe) until one goes through.
    const probes = new Map<string, Promise<boolean>>();
    const sendGroup = async (items: ListedRecord[]) => {
      for (const [i, item] of items.entries()) {
        const { channel, claimedBy } = item.record;
        // A claim in the record itself (drkit before the `sending` document) whose sender on this host died: sent now.
        if (claimedBy && claimedBy.host === HOST && claimedBy.pid !== process.pid && !processAlive(claimedBy.pid))
          item.record.nextAttemptAt = iso(clock.now());
        const probe = probes.get(channel);
        if (probe && !(await probe)) {
          report.waiting += items.length - i;
          later(ms(holds.get(channel)?.until ?? item.record.nextAttemptAt));
          return;
        }
        const hold = holds.get(channel);
        const due = Math.max(ms(item.record.nextAttemptAt), hold ? ms(hold.until) : 0);
        if (due > clock.now()) {
          report.waiting += items.length - i;
          later(due);
          return;
        }
        const attempt = this.attempt(item, holds, failuresBefore.get(channel) ?? 0, claims);
        if (hold && !probes.has(channel))
          probes.set(
            channel,
            attempt.then((r) => r.outcome === 'delivered' || r.outcome === 'failed'),
          );
        const result = await attempt;
        if (result.outcome === 'busy') {
          report.waiting += items.length - i;
          later(result.nextAttemptAt!);
          return;
        }
        if (result.outcome === 'delivered') {
          report.delivered++;
          continue;
        }
        if (result.outcome !== 'skipped') report[result.outcome]++;
        // What comes after a message that did not go waits for it; after one that failed for good (whose
        // report is queued now), for the next run.
        report.waiting += items.length - i - 1;
        later(result.nextAttemptAt ?? clock.now());
        return;
      }
    };
    const claims = new SendClaims(store, clock, CLAIM_MS);
    try {
      await Promise.all(
        Array.from({ length: Math.min(this.concurrency, queue.length) }, async () => {
          for (let group = queue.shift(); group; group = queue.shift()) await sendGroup(group);
        }),
      );
    } finally {
      await claims.close();
    }
    return report;
  }

  /**
   * Claims, sends and records one message; 'busy' while another live sender holds its claim,
   * 'skipped' when another process changed it since it was listed (sent it, or put it off).
   */
  private async attempt(
    item: ListedRecord,
    holds: Map<string, Hold>,
    failuresBefore: number,
    claims: SendClaims,
  ): Promise<{ outcome: 'delivered' | 'retrying' | 'failed' | 'skipped' | 'busy'; nextAttemptAt?: number }> {
    if (item.record.attempts > 0) await failpoint('notify.outbox.retry');
    const busyUntil = await claims.claim(item.record.id);
    if (busyUntil !== undefined) return { outcome: 'busy', nextAttemptAt: busyUntil };
    try {
      // Listed before the claim: a sender that finished it in between has changed it since.
      if (!(await this.unchanged(item))) return { outcome: 'skipped' };
      await failpoint('notify.outbox.after-claim');
      return await this.send(item, holds, failuresBefore);
    } finally {
      claims.release(item.record.id);
    }
  }

  /** Sends a claimed message and records what happened. */
  private async send(
    item: ListedRecord,
    holds: Map<string, Hold>,
    failuresBefore: number,
  ): Promise<{ outcome: 'delivered' | 'retrying' | 'failed'; nextAttemptAt?: number }> {
    const { clock, store, channels } = this.options;
    // Counted when recorded: a sender killed mid-send leaves the count as it was.
    const claimed: OutboxRecord = {
      ...item.record,
      attempts: item.record.attempts + 1,
      sendingSince: undefined,
      claimedBy: undefined,
    };
    const channel = channels.get(claimed.channel);
    const delivery: Delivery = channel
      ? await this.inTurn(claimed.channel, () => sendWithin(channel, claimed.notification)).catch((error: unknown) => ({
          ok: false as const,
          retryable: true,
          error: `the ${claimed.channel} adapter threw: ${error instanceof Error ? error.message : String(error)}`,
        }))
      : { ok: false, retryable: false, error: `no channel named "${claimed.channel}" is configured (notify.channels)` };
    const now = clock.now();
    const current = { ...item, record: claimed };
    if (delivery.ok) {
      await failpoint('notify.outbox.after-accepted');
      await this.finish(current, {
        state: 'delivered',
        deliveredAt: iso(now),
        ...(delivery.receipt ? { receipt: delivery.receipt } : {}),
      });
      if (holds.has(claimed.channel)) {
        await failpoint('notify.outbox.before-release-hold');
        holds.delete(claimed.channel);
        await store.delete(KEYS.hold(claimed.channel)).catch(() => {});
      }
      return { outcome: 'delivered' };
    }
    if (!delivery.retryable) {
      await failpoint('notify.outbox.after-refused');
      await this.finish(current, { state: 'failed', lastError: delivery.error });
      return { outcome: 'failed' };
    }
    const backoff = this.backoff(claimed.attempts);
    const waitMs = Math.max(delivery.retryAfterMs ?? 0, backoff);
    await this.save(current, { ...claimed, nextAttemptAt: iso(now + waitMs), lastError: delivery.error });
    await failpoint('notify.outbox.after-retry-wait');
    // The whole channel waits: a receiver that said 429 or is down gets nothing else before then.
    const failures = failuresBefore + 1;
    const hold: Hold = {
      until: iso(now + Math.max(delivery.retryAfterMs ?? 0, this.backoff(failures))),
      failures,
      reason: delivery.error,
    };
    holds.set(claimed.channel, hold);
    await store.put(KEYS.hold(claimed.channel), hold);
    return { outcome: 'retrying', nextAttemptAt: now + waitMs };
  }

  /** Runs `send` when fewer than `perChannel` sends to the channel are in progress (a freed turn goes to the next). */
  private async inTurn<T>(name: string, send: () => Promise<T>): Promise<T> {
    const turns = this.turns.get(name) ?? { active: 0, waiting: [] };
    this.turns.set(name, turns);
    if (turns.active < this.perChannel) turns.active++;
    else await new Promise<void>((resolve) => turns.waiting.push(resolve));
    try {
      return await send();
    } finally {
      const next = turns.waiting.shift();
      if (next) next();
      else if (--turns.active === 0) this.turns.delete(name);
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 20));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  /**
   * Writes the record's next state (undefined fields are dropped) into its segment, unless another process changed it
   * since it was listed (it took the message over after this one's claim ran out): then its record wins.
   */
  private async save(item: ListedRecord, next: OutboxRecord): Promise<void> {
    await this.segments.write(item.key, { id: next.id, listed: item.listed, next });
  }

  /**
   * True if the record still reads as listed. The claims settled together read each segment once: their reads are
   * asked for in the same turn of the event loop, and the one read starts after all of their claims were written.
   */
  private async unchanged(item: ListedRecord): Promise<boolean> {
    let read = this.reads.get(item.key);
    if (!read) {
      read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.reads.delete(item.key);
        return this.options.store.get(item.key);
      });
      this.reads.set(item.key, read);
    }
    const entry = await read;
    const records = entry ? recordsOf(entry.value) : [];
    const i = indexOf(records, item.record.id);
    return i >= 0 && JSON.stringify(records[i]) === item.listed;
  }

  /**
   * Removes segments whose every message finished more than KEEP_FINISHED_MS ago (a segment changed since it was
   * listed is left for the next run).
   */
  private async prune(records: ListedRecord[], segments: ListedSegment[], now: number): Promise<void> {
    const gone = new Set(
      records
        .filter(({ record: r }) => r.state !== 'pending' && r.finishedAt && ms(r.finishedAt) + KEEP_FINISHED_MS <= now)
        .map(({ record }) => record.id),
    );
    for (const segment of segments)
      if (segment.ids.every((id) => gone.has(id)))
        await this.options.store.delete(segment.key, { ifRevision: segment.revision }).catch(() => {});
  }

  /** Records the end of a message; a failure or expiry is then reported on the route's other channels, else the log. */
  private async finish(
    item: ListedRecord,
    change: Partial<OutboxRecord> & { state: Exclude<OutboxState, 'pending'> },
  ): Promise<void> {
    const now = this.options.clock.now();
    const finished = () =>
      this.save(item, {
        ...item.record,
        ...change,
        sendingSince: undefined,
        claimedBy: undefined,
        finishedAt: iso(now),
        nextAttemptAt: item.record.nextAttemptAt,
      });
    if (change.state === 'delivered') return finished();
    // The report is queued first (its id makes that idempotent): killed before the record says failed, the next process
    // reports again, not never.
    await this.report(item.record, change, now);
    await failpoint('notify.outbox.after-failure-report');
    await finished();
  }

  /** Queues the report of a message that failed or expired to the route's other channels, else says it on the log. */
  private async report(
    record: OutboxRecord,
    change: Partial<OutboxRecord> & { state: Exclude<OutboxState, 'pending'> },
    now: number,
  ): Promise<void> {
    const why = change.lastError ?? record.lastError ?? change.state;
    const line = `drkit notify: could not deliver "${record.notification.title}" to ${record.channel}: ${why}`;
    const targets =
      record.notification.kind === 'undeliverable' ? [] : record.fallback.filter((c) => this.options.channels.has(c));
    if (targets.length === 0) {
      this.options.log(line);
      return;
    }
    const notification: Notification = {
      idempotencyKey: `${record.id}.failed`,
      kind: 'undeliverable',
      severity: record.notification.severity,
      title: `Could not deliver to ${record.channel}: ${record.notification.title}`,
      text: `${line}. ${change.state === 'expired' ? 'It expired undelivered.' : 'The receiver refused it for good.'}`,
      incidents: record.notification.incidents,
    };
    await this.enqueue(
      targets.map((channel) =>
        this.record({
          id: `${record.id}.f.${channel}`,
          channel,
          notification,
          dueBy: now,
          expireAfterMs: ms(record.expiresAt) - ms(record.dueBy),
          fallback: [],
        }),
      ),
    );
  }
}
