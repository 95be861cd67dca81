import type { DrkitConfig } from '@drkit/config';
import {
  listIncidents,
  Notifier,
  policyFromConfig,
  type StatusPage,
  staleReminder,
  statusPage,
  statusPageSettings,
  writeStatusPage,
} from '@drkit/notify';
import type { StateStore } from '@drkit/state';
import { type BlobStore, LocalStore } from '@drkit/storage';
import { loadConfig, usage } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { printJson, say, warn } from '../output.js';
import { openState, type StateOptions } from '../state-context.js';
import { storeForLocation } from '../stores.js';

/** The page as of now, from every incident in the state store and the config's `status_page`. */
async function currentPage(store: StateStore, config: DrkitConfig | undefined): Promise<StatusPage> {
  return statusPage({
    ...statusPageSettings(config?.status_page),
    incidents: await listIncidents(store, { all: true }),
    now: Date.now(),
  });
}

/**
 * Writes the page and says what it shows; stale incidents are
 * named on stderr too, since the page now says it is out of date.
 */
async function write(
  page: StatusPage,
  store: BlobStore,
  where: string,
  opts: StateOptions,
  reminded: boolean,
): Promise<ExitCode> {
  const files = await writeStatusPage(store, page);
  const minutes = (ms: number) => Math.floor(ms / 60_000);
  if (opts.json)
    printJson({
      target: where,
      files: files.map((f) => f.key),
      status: { indicator: page.indicator, description: page.description },
      open_incidents: page.incidents.length,
      maintenance: page.maintenance.length,
      stale: page.stale.map((s) => ({
        incident_id: s.incidentId,
        title: s.title,
        severity: s.severity,
        last_public_update_at: s.lastPublicUpdateAt,
        minutes_since: minutes(s.ageMs),
      })),
    });
  else {
    say(`${files.map((f) => f.key).join(' and ')} written to ${where}`);
    say(
      `${page.description}: ${page.incidents.length} open incident(s), ${page.maintenance.length} scheduled ` +
        `or running maintenance(s)`,
    );
  }
  for (const s of page.stale)
    warn(
      `drkit: stale: ${s.incidentId} "${s.title}" (${s.severity}) has had no public update ` +
        `for ${minutes(s.ageMs)} min (promised every ${minutes(page.staleAfterMs)} min); the page says so.` +
        (reminded ? ' A reminder is queued to its channels.' : ''),
    );
  return ExitCode.OK;
}

/** `drkit status-page build --out DIR`: the page into a folder, for a preview or your own upload. Sends nothing. */
export async function build(_args: unknown[], opts: StateOptions & { out: string }): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const state = await openState(opts, config);
  const page = await currentPage(state, config).finally(() => state.close());
  return write(page, new LocalStore(opts.out), new LocalStore(opts.out).location, opts, false);
}

/**
 * `drkit status-page publish`: the page to `status_page.target` (or --target). Each open P1/P2
 * without a recent public update first gets a reminder queued in the outbox (once per period),
 * so that a failing upload cannot hold it back.
 */
export async function publish(_args: unknown[], opts: StateOptions & { target?: string }): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const target = opts.target ?? config?.status_page?.target;
  if (!target)
    throw usage(
      'No status page target: publish does not know where to put the page.',
      'Set status_page.target in drkit.config.yaml (a folder, or s3://bucket/prefix away from the service ' +
        'it reports on), or pass --target; `drkit status-page build --out DIR` writes it to a folder.',
    );
  const state = await openState(opts, config);
  try {
    const page = await currentPage(state, config);
    const notifier = new Notifier({ store: state, policy: policyFromConfig(config?.notify), log: warn });
    for (const s of page.stale) await notifier.remind(s.incidentId, staleReminder(s, page.staleAfterMs));
    const store = storeForLocation(target);
    return await write(page, store, store.location, opts, page.stale.length > 0);
  } finally {
    await state.close();
  }
}
