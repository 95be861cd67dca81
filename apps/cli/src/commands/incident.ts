import type { Incident, IncidentStatus, Notifier, Severity } from '@drkit/notify';
import { ExitCode } from '../exit-codes.js';
import { type NotifyOptions, openNotifier, operator, sayDelivery } from '../notify-context.js';
import { printJson, say, table } from '../output.js';

const when = (isoTime: string | undefined) => (isoTime ? isoTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

/** A change, then whatever it made due goes out at once (a P1 within a second of the command). */
async function changed(
  notifier: Notifier,
  incident: Incident | undefined,
  opts: NotifyOptions,
  line: string,
): Promise<ExitCode> {
  const report = await notifier.deliver();
  await notifier.store.close();
  if (opts.json) printJson(incident ?? null);
  else say(line);
  sayDelivery(notifier, report);
  return ExitCode.OK;
}

export async function open(
  _args: unknown[],
  opts: NotifyOptions & { severity: Severity; title: string; component: string[]; message?: string; dedupKey?: string },
): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const { incident, action } = await notifier.open({
    title: opts.title,
    severity: opts.severity,
    components: opts.component,
    ...(opts.message !== undefined ? { message: opts.message } : {}),
    ...(opts.dedupKey !== undefined ? { dedupKey: opts.dedupKey } : {}),
    by: operator(),
  });
  // The id alone on stdout, for scripts: ID=$(drkit incident open …).
  return changed(
    notifier,
    incident,
    opts,
    `${incident!.id}${
      action === 'opened'
        ? ''
        : ` (${action === 'repeated' ? 'already open with that message' : 'already open: updated'})`
    }`,
  );
}

export async function update(
  args: unknown[],
  opts: NotifyOptions & { message: string; status?: IncidentStatus; internal?: boolean },
): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const incident = await notifier.update(String(args[0]), {
    message: opts.message,
    ...(opts.status ? { status: opts.status } : {}),
    internal: opts.internal === true,
    by: operator(),
  });
  return changed(
    notifier,
    incident,
    opts,
    `${incident.id}: ${incident.status}, ${incident.timeline.length} timeline entries`,
  );
}

export async function ack(args: unknown[], opts: NotifyOptions & { by?: string }): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const incident = await notifier.acknowledge(String(args[0]), { by: opts.by ?? operator() });
  return changed(
    notifier,
    incident,
    opts,
    `${incident.id}: acknowledged by ${incident.acknowledgedBy} at ${when(incident.acknowledgedAt)}`,
  );
}

export async function resolve(args: unknown[], opts: NotifyOptions & { message?: string }): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const incident = await notifier.resolve(String(args[0]), {
    ...(opts.message !== undefined ? { message: opts.message } : {}),
    by: operator(),
  });
  return changed(notifier, incident, opts, `${incident.id}: resolved at ${when(incident.resolvedAt)}`);
}

export async function list(_args: unknown[], opts: NotifyOptions & { all?: boolean }): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const incidents = await notifier.list({ all: opts.all === true });
  await notifier.store.close();
  if (opts.json) printJson(incidents);
  else if (incidents.length === 0)
    say(opts.all ? 'no incidents recorded' : 'no open incidents (--all lists resolved ones too)');
  else
    table(
      ['ID', 'SEV', 'STATUS', 'OPENED', 'ACKNOWLEDGED', 'TITLE'],
      incidents.map((i) => [i.id, i.severity, i.status, when(i.openedAt), i.acknowledgedBy ?? '', i.title]),
    );
  return ExitCode.OK;
}

export async function show(args: unknown[], opts: NotifyOptions): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const i = await notifier.get(String(args[0]));
  await notifier.store.close();
  if (opts.json) {
    printJson(i);
    return ExitCode.OK;
  }
  say(`${i.id}  ${i.severity}  ${i.status}  ${i.title}`);
  if (i.components.length) say(`components: ${i.components.join(', ')}`);
  const labels = Object.entries(i.labels);
  if (labels.length) say(`labels: ${labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (i.dedupKey !== undefined) say(`dedup key: ${i.dedupKey}`);
  say(
    `opened ${when(i.openedAt)}` +
      `${i.acknowledgedAt ? `, acknowledged by ${i.acknowledgedBy} ${when(i.acknowledgedAt)}` : ''}` +
      `${i.resolvedAt ? `, resolved ${when(i.resolvedAt)}` : ''}`,
  );
  say('timeline:');
  for (const e of i.timeline)
    say(
      `  ${when(e.at)}  ${e.kind.padEnd(12)}  ${e.by}  ${e.visibility === 'internal' ? '(internal) ' : ''}` +
        `${e.status ? `[${e.status}] ` : ''}${e.severity && e.kind !== 'opened' ? `[${e.severity}] ` : ''}${e.message}`,
    );
  return ExitCode.OK;
}
