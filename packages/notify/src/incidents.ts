import { createHash, randomBytes } from 'node:crypto';
import { type StateEntry, type StateStore, updateEntry } from '@drkit/state';
import { iso } from './clock.js';
import { NotifyError, NotifyErrorCode } from './errors.js';
import { type Incident, incidentSchema } from './model.js';
import { lastPublicUpdateAt } from './status-page/stale.js';

/** Where notify keeps things in the state store (docs/FORMAT.md describes each document). */
export const KEYS = {
  incident: (id: string) => `incidents/${id}`,
  /** One per open incident: the open index, and notify's bookkeeping for it (OpenState). */
  open: (id: string) => `open/${id}`,
  /** Claims a dedup key for the open incident that has it; hashed, since a dedup key may hold any text. */
  dedup: (dedupKey: string) => `dedup/${createHash('sha256').update(dedupKey).digest('hex').slice(0, 40)}`,
  outbox: (id: string) => `outbox/${id}`,
  digest: (routeName: string) => `digests/${routeName}`,
  hold: (channel: string) => `holds/${channel}`,
} as const;

/** Notify's bookkeeping for an open incident. */
export interface OpenState {
  /** Timeline entries already turned into notifications (outbox records or digest items). */
  routed: number;
  /** Reminders queued (repeat until acknowledged). */
  repeats: number;
  /** Escalation steps queued. */
  escalated: number;
}

export interface DedupClaim {
  dedupKey: string;
  incidentId: string;
}

/** `20261206T160000Z-ab12cd`: sorts by opening time, unique by its random tail. */
export function newIncidentId(now: number): string {
  return `${iso(now).replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** A stored incident, checked against the model (stored documents are input too). */
export function parseIncident(entry: StateEntry): Incident {
  const parsed = incidentSchema.safeParse(entry.value);
  if (!parsed.success)
    throw new NotifyError(
      NotifyErrorCode.DAMAGED,
      `The stored incident ${entry.key} does not match the incident ` +
        `model: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
      {
        hint: 'Something other than drkit changed it. Restore it from a copy of the state store, or move it aside.',
        details: { key: entry.key },
      },
    );
  return parsed.data;
}

export async function getIncident(
  store: StateStore,
  id: string,
): Promise<{ incident: Incident; revision: number } | undefined> {
  const entry = await store.get(KEYS.incident(id));
  return entry && { incident: parseIncident(entry), revision: entry.revision };
}

/** An incident by its full id or a unique prefix of it. */
export async function findIncident(store: StateStore, idOrPrefix: string): Promise<Incident> {
  const notFound = () =>
    new NotifyError(NotifyErrorCode.NOT_FOUND, `No incident has the id ${JSON.stringify(idOrPrefix)}.`, {
      hint: 'List them with `drkit incident list --all`; an id like 20261206T160000Z-ab12cd, or a unique start of one.',
      details: { id: idOrPrefix },
    });
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(idOrPrefix)) throw notFound();
  const exact = await getIncident(store, idOrPrefix);
  if (exact) return exact.incident;
  const found: Incident[] = [];
  for await (const entry of store.list(KEYS.incident(idOrPrefix)))
    if (!entry.key.slice('incidents/'.length).includes('/')) found.push(parseIncident(entry));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw notFound();
  throw new NotifyError(
    NotifyErrorCode.AMBIGUOUS_ID,
    `${found.length} incidents have ids starting with ${idOrPrefix}: ${found.map((i) => i.id).join(', ')}.`,
    {
      hint: 'Give more of the id.',
      details: { id: idOrPrefix, matches: found.map((i) => i.id) },
    },
  );
}

/** Open incidents (through the open index), oldest first; with `all`, every incident kept in the store. */
export async function listIncidents(store: StateStore, options: { all?: boolean } = {}): Promise<Incident[]> {
  const out: Incident[] = [];
  if (options.all) {
    for await (const entry of store.list('incidents/')) out.push(parseIncident(entry));
    return out;
  }
  for await (const entry of store.list('open/')) {
    const found = await getIncident(store, entry.key.slice('open/'.length));
    if (found && found.incident.status !== 'resolved') out.push(found.incident);
  }
  return out;
}

/** What the status page needs: each open incident and the time of its last public timeline entry. */
export async function openIncidents(store: StateStore): Promise<{ incident: Incident; lastPublicUpdateAt: string }[]> {
  return (await listIncidents(store)).map((incident) => ({
    incident,
    lastPublicUpdateAt: lastPublicUpdateAt(incident),
  }));
}

/**
 * Changes an incident in one conditional write (retried on conflicts): `change` returns the new
 * incident, or undefined to leave it. Refuses a resolved incident unless `closedOk`.
 */
export async function changeIncident(
  store: StateStore,
  id: string,
  change: (incident: Incident) => Incident | undefined,
): Promise<Incident | undefined> {
  let changed: Incident | undefined;
  await updateEntry<Incident>(store, KEYS.incident(id), (current) => {
    if (current === undefined)
      throw new NotifyError(NotifyErrorCode.NOT_FOUND, `No incident has the id ${id}.`, {
        hint: 'List them with `drkit incident list --all`.',
      });
    changed = change(incidentSchema.parse(current));
    return changed;
  });
  return changed;
}
