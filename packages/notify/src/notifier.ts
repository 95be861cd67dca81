import { randomBytes } from 'node:crypto';
import { failpoint } from '@drkit/errors';
import { StateError, StateErrorCode, type StateStore, updateEntry } from '@drkit/state';
import type { Channel, Notification } from './channel.js';
import { type Clock, iso, ms, systemClock } from './clock.js';
import { NotifyError, NotifyErrorCode } from './errors.js';
import {
  changeIncident,
  type DedupClaim,
  findIncident,
  getIncident,
  KEYS,
  listIncidents,
  newIncidentId,
  type OpenState,
  openIncidents,
} from './incidents.js';
import { digestNotification, entryNotification, reminderNotification } from './messages.js';
import {
  type DrkitEvent,
  type Incident,
  type IncidentStatus,
  SEVERITIES,
  type Severity,
  type TimelineEntry,
} from './model.js';
import { type DeliveryReport, Outbox, type OutboxRecord } from './outbox.js';
import { type Policy, policyFromConfig, type Route, routeFor } from './policy.js';

export interface NotifierOptions {
  store: StateStore;
  /** Configured channels by name (see the channel factory); missing ones fail their messages for good. */
  channels?: ReadonlyMap<string, Channel>;
  /** Routes by severity; default: the DR plan over `channels`. */
  policy?: Policy;
  clock?: Clock;
  /** Where notify says what it could not send anywhere else (the CLI: stderr). */
  log?: (line: string) => void;
  /** Jitter's random source, in [0, 1). */
  random?: () => number;
  /** Messages in flight at once (default 64). */
  concurrency?: number;
  /** Sends to one channel at once (default 16). */
  perChannel?: number;
}

export interface ReportResult {
  /** The incident as it is now; undefined when a resolve found nothing open. */
  incident: Incident | undefined;
  /** `repeated`: the same message as the last entry, folded into it (nothing sent). */
  action: 'opened' | 'updated' | 'repeated' | 'resolved' | 'none';
}

export interface FlushReport extends DeliveryReport {
  /** Still pending when the flush ended, and of those, how many have failed at least once. */
  pending: number;
}

export interface OutboxStatus {
  counts: Record<OutboxRecord['state'], number>;
  /** Messages past their deadline (by more than LATE_GRACE_MS): delivered late, or not delivered and past it. */
  late: OutboxRecord[];
  pending: OutboxRecord[];
  /** Failed or expired (kept 7 days). */
  undelivered: OutboxRecord[];
  /**
   * Channels that have been failing (until one of their messages goes through): nothing is sent to them before `until`.
   */
  holds: { channel: string; until: string; failures: number; reason: string }[];
}

/** A digest window in the state store: the route's events since it opened, sent when it closes. */
interface DigestBucket {
  severity: Severity;
  route: number;
  channels: string[];
  expireAfterMs: number;
  openedAt: string;
  closesAt: string;
  items: { incidentId: string; index: number }[];
}

const conflict = (error: unknown) => error instanceof StateError && error.code === StateErrorCode.CONFLICT;
const compact = (isoTime: string) => isoTime.replace(/[-:]|\.\d+/g, '');
const pad = (n: number) => String(n).padStart(4, '0');
/**
 * "At once" (within: 0s) cannot be met to the millisecond: a message is late when it arrives more than this after its
 * deadline.
 */
export const LATE_GRACE_MS = 1_000;
/**
 * A creator that died between writing an incident's open index and the incident leaves the index; it is removed after
 * this.
 */
const ORPHAN_AFTER_MS = 60_000;

function humanMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/**
 * drkit's event bus toward people. Other parts `report()` what happens (an open incident with the
 * same dedup key is updated, not duplicated); people `acknowledge`, `update` and `resolve`. Each
 * change is a timeline entry, routed by severity and labels into the durable outbox (or a digest
 * window); `deliver()` sends what is due, and `flush()` keeps at it for a while.
 */
export class Notifier {
  readonly store: StateStore;
  readonly channels: ReadonlyMap<string, Channel>;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly outbox: Outbox;
  private readonly log: (line: string) => void;

  constructor(options: NotifierOptions) {
    this.store = options.store;
    this.channels = options.channels ?? new Map();
    this.policy = options.policy ?? policyFromConfig(undefined);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.outbox = new Outbox({
      store: this.store,
      channels: this.channels,
      clock: this.clock,
      log: this.log,
      random: options.random,
      concurrency: options.concurrency,
      perChannel: options.perChannel,
    });
  }

  // ---- incidents ----

  /**
   * Opens an incident for the event, or updates (or, with `resolve`, resolves) the open one with its dedup key; then
   * routes it.
   */
  async report(event: DrkitEvent): Promise<ReportResult> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const claim =
        event.dedupKey === undefined ? undefined : await this.store.get<DedupClaim>(KEYS.dedup(event.dedupKey));
      let id = claim?.value.incidentId;
      if (claim && id) {
        const found = await getIncident(this.store, id);
        if (found && found.incident.status !== 'resolved') {
          await failpoint('notify.report.before-fold');
          // Resolved meanwhile by someone else: its key is free, so this event opens a new incident.
          const folded = await this.fold(found.incident.id, event).catch((e) =>
            e instanceof NotifyError && e.code === NotifyErrorCode.CLOSED ? undefined : Promise.reject(e),
          );
          if (folded) return folded;
          continue;
        }
        if (found) {
          // Resolved, but its claim was not released (the resolver was interrupted): release it now.
          await this.store
            .delete(claim.key, { ifRevision: claim.revision })
            .catch((e) => conflict(e) || Promise.reject(e));
          continue;
        }
        // The claimer died (or is still at it) before writing the incident: whoever writes it first opens it.
      } else {
        if (event.resolve) return { incident: undefined, action: 'none' };
        id = newIncidentId(this.clock.now());
        if (event.dedupKey !== undefined) {
          const taken = await this.store
            .put<DedupClaim>(
              KEYS.dedup(event.dedupKey),
              { dedupKey: event.dedupKey, incidentId: id },
              { ifRevision: 0 },
            )
            .then(
              () => false,
              (e) => conflict(e) || Promise.reject(e),
            );
          if (taken) continue;
          await failpoint('notify.report.after-dedup-claim');
        }
      }
      if (event.resolve) return { incident: undefined, action: 'none' };
      const incident = await this.create(id, event);
      if (!incident) return this.fold(id, event);
      await failpoint('notify.incident.after-write');
      await this.route(id);
      return { incident: (await getIncident(this.store, id))?.incident ?? incident, action: 'opened' };
    }
    throw new NotifyError(
      NotifyErrorCode.DAMAGED,
      `Could not settle the incident for dedup key ${JSON.stringify(event.dedupKey)}: its claim kept changing.`,
      {
        hint: 'Other processes report the same key very fast; try again.',
      },
    );
  }

  /** Writes a new incident (its open index first); undefined if another process wrote that id first. */
  private async create(id: string, event: DrkitEvent): Promise<Incident | undefined> {
    const at = iso(this.clock.now());
    const incident: Incident = {
      id,
      title: event.title,
      severity: event.severity,
      components: [...new Set(event.components ?? [])],
      labels: { ...event.labels, source: event.labels?.source ?? event.by },
      status: 'investigating',
      ...(event.dedupKey !== undefined ? { dedupKey: event.dedupKey } : {}),
      openedAt: at,
      timeline: [
        {
          at,
          kind: 'opened',
          by: event.by,
          message: event.message,
          visibility: event.internal ? 'internal' : 'public',
          status: 'investigating',
          severity: event.severity,
        },
      ],
    };
    await this.store
      .put<OpenState>(KEYS.open(id), { routed: 0, repeats: 0, escalated: 0 }, { ifRevision: 0 })
      .catch((e) => conflict(e) || Promise.reject(e));
    await failpoint('notify.report.after-open-index');
    const written = await this.store.put(KEYS.incident(id), incident, { ifRevision: 0 }).then(
      () => true,
      (e) => (conflict(e) ? false : Promise.reject(e)),
    );
    return written ? incident : undefined;
  }

  /**
   * An event for an open incident: a new entry (severity only ever raised), or nothing when it repeats the last one.
   */
  private async fold(id: string, event: DrkitEvent): Promise<ReportResult> {
    if (event.resolve)
      return { incident: await this.resolve(id, { message: event.message, by: event.by }), action: 'resolved' };
    let repeated = false;
    const incident = await changeIncident(this.store, id, (current) => {
      if (current.status === 'resolved') throw this.closed(current, 'update');
      const last = current.timeline.at(-1);
      const raise = SEVERITIES.indexOf(event.severity) < SEVERITIES.indexOf(current.severity);
      repeated = !raise && last?.message === event.message && last.by === event.by;
      if (repeated) return undefined;
      return {
        ...current,
        severity: raise ? event.severity : current.severity,
        components: [...new Set([...current.components, ...(event.components ?? [])])],
        labels: { ...current.labels, ...event.labels },
        timeline: [
          ...current.timeline,
          {
            at: iso(this.clock.now()),
            kind: 'updated',
            by: event.by,
            message: event.message,
            visibility: event.internal ? 'internal' : 'public',
            ...(raise ? { severity: event.severity } : {}),
          },
        ],
      };
    });
    if (repeated || !incident) return { incident: (await getIncident(this.store, id))?.incident, action: 'repeated' };
    await failpoint('notify.incident.after-write');
    await this.route(id);
    return { incident, action: 'updated' };
  }

  /** Opens an incident by hand (`drkit incident open`); with a dedup key, updates the open one that has it. */
  async open(input: {
    title: string;
    severity: Severity;
    components?: string[];
    labels?: Record<string, string>;
    message?: string;
    dedupKey?: string;
    by: string;
  }): Promise<ReportResult> {
    return this.report({ ...input, message: input.message ?? '' });
  }

  /** Adds a timeline entry, changing the status when given (`resolved` resolves). */
  async update(
    idOrPrefix: string,
    input: { message: string; status?: IncidentStatus; internal?: boolean; by: string },
  ): Promise<Incident> {
    if (input.status === 'resolved') return this.resolve(idOrPrefix, { message: input.message, by: input.by });
    return this.change(idOrPrefix, 'update', (current, at) => ({
      ...current,
      status: input.status ?? current.status,
      timeline: [
        ...current.timeline,
        {
          at,
          kind: 'updated',
          by: input.by,
          message: input.message,
          visibility: input.internal ? 'internal' : 'public',
          ...(input.status ? { status: input.status } : {}),
        },
      ],
    }));
  }

  /** Stops reminders and escalation; channels hear who took it. Acknowledging twice changes nothing. */
  async acknowledge(idOrPrefix: string, input: { by: string; message?: string }): Promise<Incident> {
    return this.change(idOrPrefix, 'acknowledge', (current, at) =>
      current.acknowledgedAt
        ? undefined
        : {
            ...current,
            acknowledgedBy: input.by,
            acknowledgedAt: at,
            timeline: [
              ...current.timeline,
              {
                at,
                kind: 'acknowledged',
                by: input.by,
                message: input.message ?? `Acknowledged by ${input.by}.`,
                visibility: 'internal',
              },
            ],
          },
    );
  }

  async resolve(idOrPrefix: string, input: { message?: string; by: string }): Promise<Incident> {
    return this.change(idOrPrefix, 'resolve', (current, at) => ({
      ...current,
      status: 'resolved',
      resolvedAt: at,
      timeline: [
        ...current.timeline,
        {
          at,
          kind: 'resolved',
          by: input.by,
          message: input.message ?? 'Resolved.',
          visibility: 'public',
          status: 'resolved',
        },
      ],
    }));
  }

  private closed(incident: Incident, verb: string): NotifyError {
    return new NotifyError(
      NotifyErrorCode.CLOSED,
      `Incident ${incident.id} ("${incident.title}") was resolved at ${incident.resolvedAt}; it ` +
        `cannot ${verb === 'update' ? 'be updated' : `be ${verb}d`}.`,
      {
        hint: 'Open a new incident (drkit incident open) if it happens again.',
        details: { id: incident.id },
      },
    );
  }

  private async change(
    idOrPrefix: string,
    verb: string,
    apply: (current: Incident, at: string) => Incident | undefined,
  ): Promise<Incident> {
    const { id } = await findIncident(this.store, idOrPrefix);
    const changed = await changeIncident(this.store, id, (current) => {
      if (current.status === 'resolved') throw this.closed(current, verb);
      return apply(current, iso(this.clock.now()));
    });
    if (changed) {
      await failpoint('notify.incident.after-write');
      await this.route(id);
    }
    return changed ?? (await findIncident(this.store, id));
  }

  get(idOrPrefix: string): Promise<Incident> {
    return findIncident(this.store, idOrPrefix);
  }

  list(options: { all?: boolean } = {}): Promise<Incident[]> {
    return listIncidents(this.store, options);
  }

  /** Open incidents and their last public update, for the status page (which decides what is stale). */
  openIncidents(): Promise<{ incident: Incident; lastPublicUpdateAt: string }[]> {
    return openIncidents(this.store);
  }

  /**
   * Queues a reminder about an open incident to its route's channels, at once (the status page's
   * "no public update for 30 minutes"). `key` names this reminder: the same key is sent once.
   */
  async remind(idOrPrefix: string, input: { text: string; key: string }): Promise<number> {
    const incident = await findIncident(this.store, idOrPrefix);
    if (incident.status === 'resolved') throw this.closed(incident, 'remind');
    const route = routeFor(this.policy, incident);
    if (!route) return 0;
    const id = `${incident.id}.${input.key}`;
    const notification = reminderNotification(incident, 'reminder', input.text, id);
    const records = this.recordsFor(id, route.channels, notification, this.clock.now(), route.expireAfterMs);
    await this.outbox.enqueue(records);
    return records.length;
  }

  // ---- routing ----

  /**
   * Turns the incident's timeline entries not routed yet into outbox records or digest items; idempotent, so it also
   * repairs after a crash.
   */
  private async route(id: string): Promise<void> {
    const state = await this.store.get<OpenState>(KEYS.open(id));
    const found = await getIncident(this.store, id);
    if (!state || !found) return;
    const { incident } = found;
    for (let index = state.value.routed; index < incident.timeline.length; index++) {
      await this.routeEntry(incident, index, incident.timeline[index]!);
      await failpoint('notify.route.after-entry');
    }
    await updateEntry<OpenState>(this.store, KEYS.open(id), (s) =>
      s && s.routed < incident.timeline.length ? { ...s, routed: incident.timeline.length } : undefined,
    );
    await failpoint('notify.route.after-count');
    if (incident.status !== 'resolved') return;
    // Everything about it is queued: it leaves the open index, and its dedup key is free again.
    await this.store.delete(KEYS.open(id));
    await failpoint('notify.route.after-close');
    if (incident.dedupKey !== undefined) {
      const claim = await this.store.get<DedupClaim>(KEYS.dedup(incident.dedupKey));
      if (claim?.value.incidentId === id)
        await this.store
          .delete(claim.key, { ifRevision: claim.revision })
          .catch((e) => conflict(e) || Promise.reject(e));
    }
  }

  private async routeEntry(incident: Incident, index: number, entry: TimelineEntry): Promise<void> {
    const route = routeFor(this.policy, incident);
    if (!route || route.channels.length === 0) return;
    const muter = await this.mutedBy(incident);
    if (muter) {
      if (index === 0)
        this.log(
          `drkit notify: ${incident.severity} incident ${incident.id} is muted by open P1 ` +
            `incident ${muter.id} on the same component; nothing sent.`,
        );
      return;
    }
    if (route.digest) return this.addToDigest(route, incident.id, index, ms(entry.at));
    const id = `${incident.id}.${pad(index)}`;
    const notification = entryNotification(incident, entry, id);
    await this.outbox.enqueue(
      this.recordsFor(id, route.channels, notification, ms(entry.at) + route.withinMs, route.expireAfterMs),
    );
  }

  /** Inhibition: the open P1 incident sharing a component with this P3/P4 one, if any. */
  private async mutedBy(incident: Incident): Promise<Incident | undefined> {
    if (
      !this.policy.inhibit ||
      (incident.severity !== 'P3' && incident.severity !== 'P4') ||
      incident.components.length === 0
    )
      return undefined;
    return (await listIncidents(this.store)).find(
      (other) =>
        other.severity === 'P1' &&
        other.id !== incident.id &&
        other.components.some((c) => incident.components.includes(c)),
    );
  }

  private async addToDigest(route: Route, incidentId: string, index: number, at: number): Promise<void> {
    const key = KEYS.digest(`${route.severity}-${route.index}`);
    for (;;) {
      const current = await this.store.get<DigestBucket>(key);
      if (current && ms(current.value.closesAt) <= this.clock.now()) {
        await this.closeDigest(key, current.value, current.revision);
        continue;
      }
      if (current?.value.items.some((i) => i.incidentId === incidentId && i.index === index)) return;
      const bucket: DigestBucket = current
        ? { ...current.value, items: [...current.value.items, { incidentId, index }] }
        : {
            severity: route.severity,
            route: route.index,
            channels: route.channels,
            expireAfterMs: route.expireAfterMs,
            openedAt: iso(at),
            closesAt: iso(at + route.withinMs),
            items: [{ incidentId, index }],
          };
      try {
        await this.store.put(key, bucket, { ifRevision: current?.revision ?? 0 });
        await failpoint('notify.digest.after-add');
        return;
      } catch (error) {
        if (!conflict(error)) throw error;
      }
    }
  }

  /**
   * A window that has closed becomes one message per channel (the incidents as they are now); then the window is gone.
   */
  private async closeDigest(key: string, bucket: DigestBucket, revision: number): Promise<void> {
    const items: { incident: Incident; entries: TimelineEntry[] }[] = [];
    for (const item of bucket.items) {
      let group = items.find((g) => g.incident.id === item.incidentId);
      if (!group) {
        const found = await getIncident(this.store, item.incidentId);
        if (!found) continue;
        group = { incident: found.incident, entries: [] };
        items.push(group);
      }
      const entry = group.incident.timeline[item.index];
      if (entry) group.entries.push(entry);
    }
    if (items.length > 0) {
      const id = `digest.${key.slice('digests/'.length)}.${compact(bucket.openedAt)}`;
      const window = `since ${bucket.openedAt} (${humanMs(ms(bucket.closesAt) - ms(bucket.openedAt))} window)`;
      const notification = digestNotification(bucket.severity, window, items, id);
      await this.outbox.enqueue(
        this.recordsFor(id, bucket.channels, notification, ms(bucket.closesAt), bucket.expireAfterMs),
      );
      await failpoint('notify.digest.after-queue');
    }
    await this.store.delete(key, { ifRevision: revision }).catch((e) => conflict(e) || Promise.reject(e));
  }

  /**
   * Timers: repairs routing an interrupted process left undone, queues reminders (repeat until
   * acknowledged) and escalations that are due, and closes digest windows that have ended.
   * Returns when the next of these falls due, if any.
   */
  async tick(): Promise<number | undefined> {
    const now = this.clock.now();
    let next: number | undefined;
    const wake = (at: number) => {
      next = Math.min(next ?? at, at);
    };
    for await (const entry of this.store.list<OpenState>('open/')) {
      const id = entry.key.slice('open/'.length);
      const found = await getIncident(this.store, id);
      if (!found) {
        if (now - ms(entry.updatedAt) > ORPHAN_AFTER_MS)
          await this.store.delete(entry.key, { ifRevision: entry.revision }).catch(() => {});
        continue;
      }
      const { incident } = found;
      if (entry.value.routed < incident.timeline.length || incident.status === 'resolved') {
        await this.route(id);
        if (incident.status === 'resolved') continue;
      }
      const route = routeFor(this.policy, incident);
      if (!route || incident.acknowledgedAt) continue;
      const opened = ms(incident.openedAt);
      const queued: OutboxRecord[] = [];
      let { repeats, escalated } = entry.value;
      if (route.repeatEveryMs) {
        const due = Math.floor((now - opened) / route.repeatEveryMs);
        if (due > repeats) {
          // Reminders missed while nothing ran are not all sent: one says how long it has been.
          repeats = due;
          const key = `${id}.r${pad(due)}`;
          const notification = reminderNotification(
            incident,
            'reminder',
            `Still unacknowledged after ${humanMs(now - opened)}`,
            key,
          );
          queued.push(...this.recordsFor(key, route.channels, notification, now, route.expireAfterMs));
        }
        wake(opened + (repeats + 1) * route.repeatEveryMs);
      }
      for (; escalated < route.escalate.length; escalated++) {
        const step = route.escalate[escalated]!;
        if (now < opened + step.afterMs) {
          wake(opened + step.afterMs);
          break;
        }
        const key = `${id}.e${escalated + 1}`;
        const notification = reminderNotification(
          incident,
          'escalated',
          `Unacknowledged for ${humanMs(step.afterMs)}: escalated to ${step.channels.join(', ')}`,
          key,
        );
        queued.push(...this.recordsFor(key, step.channels, notification, now, route.expireAfterMs));
      }
      if (queued.length === 0) continue;
      await this.outbox.enqueue(queued);
      await updateEntry<OpenState>(this.store, entry.key, (s) =>
        s && (s.repeats < repeats || s.escalated < escalated)
          ? { ...s, repeats: Math.max(s.repeats, repeats), escalated: Math.max(s.escalated, escalated) }
          : undefined,
      );
    }
    for await (const entry of this.store.list<DigestBucket>('digests/')) {
      if (ms(entry.value.closesAt) <= now) await this.closeDigest(entry.key, entry.value, entry.revision);
      else wake(ms(entry.value.closesAt));
    }
    return next;
  }

  /** One outbox record per channel for the same message; each falls back to the others. */
  private recordsFor(
    id: string,
    channels: string[],
    notification: Notification,
    dueBy: number,
    expireAfterMs: number,
  ): OutboxRecord[] {
    return channels.map((channel) =>
      this.outbox.record({ id: `${id}.${channel}`, channel, notification, dueBy, expireAfterMs, fallback: channels }),
    );
  }

  // ---- sending ----

  /** Runs the timers, then sends every message that is due, once. */
  async deliver(): Promise<DeliveryReport> {
    await this.tick();
    return this.outbox.deliver();
  }

  /**
   * Sends what is due now; then, for up to `waitMs`, sleeps until the next retry, reminder or
   * digest falls due and sends again. Returns the counts over the whole flush.
   */
  async flush(options: { waitMs?: number; signal?: AbortSignal } = {}): Promise<FlushReport> {
    const deadline = this.clock.now() + (options.waitMs ?? 0);
    const total: FlushReport = { delivered: 0, retrying: 0, failed: 0, expired: 0, waiting: 0, pending: 0 };
    for (;;) {
      const timer = await this.tick();
      const report = await this.outbox.deliver();
      total.delivered += report.delivered;
      total.failed += report.failed;
      total.expired += report.expired;
      const next = Math.min(timer ?? Infinity, report.nextAttemptAt ?? Infinity);
      if (next > deadline || options.signal?.aborted) break;
      await failpoint('notify.flush.before-sleep');
      await this.clock.sleep(next - this.clock.now(), options.signal);
    }
    const pending = (await this.outbox.all()).filter(({ record }) => record.state === 'pending');
    total.pending = pending.length;
    total.retrying = pending.filter(({ record }) => record.attempts > 0).length;
    total.waiting = total.pending - total.retrying;
    return total;
  }

  /** Sends a test message to one channel through the outbox (written first, like any other) and says how it went. */
  async test(channelName: string): Promise<{ record: OutboxRecord; delivery: DeliveryReport }> {
    if (!this.channels.has(channelName))
      throw new NotifyError(NotifyErrorCode.UNKNOWN_CHANNEL, `No channel named "${channelName}" is configured.`, {
        hint:
          `Channels are defined under notify.channels in drkit.config.yaml` +
          `${this.channels.size ? `; these are: ${[...this.channels.keys()].join(', ')}` : ''}.`,
        details: { channel: channelName },
      });
    const now = this.clock.now();
    const id = `test.${compact(iso(now))}.${randomBytes(3).toString('hex')}`;
    const record = this.outbox.record({
      id: `${id}.${channelName}`,
      channel: channelName,
      notification: {
        idempotencyKey: id,
        kind: 'test',
        severity: 'P4',
        title: 'drkit test notification',
        text: `A test from drkit notify test ${channelName} at ${iso(now)}: this channel works.`,
        incidents: [],
      },
      dueBy: now,
      expireAfterMs: 60 * 60_000,
      fallback: [],
    });
    await this.outbox.enqueue([record]);
    const delivery = await this.outbox.deliver({ only: (r) => r.id === record.id });
    const stored = (await this.outbox.all()).find((r) => r.record.id === record.id)?.record ?? record;
    return { record: stored, delivery };
  }

  async status(): Promise<OutboxStatus> {
    const now = this.clock.now();
    const records = (await this.outbox.all()).map((r) => r.record);
    const counts = { pending: 0, delivered: 0, failed: 0, expired: 0 };
    for (const r of records) counts[r.state]++;
    const holds: OutboxStatus['holds'] = [];
    for await (const entry of this.store.list<{ until: string; failures: number; reason: string }>('holds/'))
      holds.push({ channel: entry.key.slice('holds/'.length), ...entry.value });
    const late = (r: OutboxRecord) => (r.deliveredAt ? ms(r.deliveredAt) : now) > ms(r.dueBy) + LATE_GRACE_MS;
    return {
      counts,
      late: records.filter(late),
      pending: records.filter((r) => r.state === 'pending'),
      undelivered: records.filter((r) => r.state === 'failed' || r.state === 'expired'),
      holds,
    };
  }
}
