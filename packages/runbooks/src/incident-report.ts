import { constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '@drkit/errors';
import { type Incident, type Notifier, REPORT_PREFIX } from '@drkit/notify';
import { snapshotIdTime } from '@drkit/repository';
import type { StateStore } from '@drkit/state';
import { RunbookError, RunbookErrorCode } from './errors.js';
import { formatSeconds } from './report.js';
import { RUN_PREFIX, type RunRecord } from './runner.js';

const PERSON = '_To be written by a person._';

/** The title in file-name form: lower-case words joined by "-", whole words up to 60 characters. */
function slug(title: string): string {
  const words = title
    .toLowerCase()
    .normalize('NFKD')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let out = '';
  for (const w of words) {
    if ((out ? out.length + 1 : 0) + w.length > 60) break;
    out = out ? `${out}-${w}` : w;
  }
  return out || 'incident';
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

/** The runbook runs recorded on an incident, oldest first. */
async function runsOf(store: StateStore, incidentId: string): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  for await (const e of store.list<RunRecord>(RUN_PREFIX)) if (e.value?.incident === incidentId) runs.push(e.value);
  return runs;
}

export interface IncidentReportOptions {
  /** The RTO objective (ms), for "RTO achieved against the objective". */
  rtoMs: number;
  now?: () => number;
}

/**
 * The plan's post-incident report, prefilled from the incident's timeline and the runbook runs
 * recorded on it: summary, impact (the data-loss window from the age of the snapshot restored),
 * root cause, response evaluation (timeline with durations, RTO against the objective), action
 * items. What only a person can say is marked as such.
 */
export function incidentReport(incident: Incident, runs: RunRecord[], options: IncidentReportOptions): string {
  const now = new Date(options.now?.() ?? Date.now()).toISOString();
  const opened = incident.openedAt;
  const end = incident.resolvedAt ?? now;
  // Recovered: the first time the incident went to monitoring (service back, being watched), else resolved.
  const recovered = incident.timeline.find((e) => e.status === 'monitoring')?.at ?? incident.resolvedAt;
  const rto = recovered ? seconds(opened, recovered) : null;
  const steps = runs.flatMap((r) => r.steps.filter((s) => s.started_at).map((s) => ({ run: r, step: s })));
  const restores = steps.filter(({ step }) => step.type === 'restore' && step.status === 'ok' && step.snapshot);
  const lines = [
    `# Incident report: ${incident.title}`,
    '',
    `- Incident: ${incident.id} (${incident.severity}, ${incident.status})`,
    `- Components: ${incident.components.join(', ') || '—'}`,
    `- Written: ${now} (prefilled by drkit from the incident's timeline; complete the parts marked for a person)`,
    '',
    '## Summary',
    '',
    `- What: ${incident.title}. ${incident.timeline[0]?.message ?? ''}`.trim(),
    `- When: opened ${opened}${
      incident.acknowledgedAt ? `, acknowledged ${incident.acknowledgedAt} by ${incident.acknowledgedBy}` : ''
    }${recovered ? `, recovered ${recovered}` : ''}` +
      `${incident.resolvedAt ? `, resolved ${incident.resolvedAt}` : ', not resolved yet'}`,
    `- How long: ${formatSeconds(seconds(opened, end))}${incident.resolvedAt ? '' : ' so far'}`,
    '',
    '## Impact',
    '',
    `- Users affected: ${PERSON}`,
    ...(restores.length
      ? restores.map(({ step }) => {
          const taken = snapshotIdTime(step.snapshot!);
          const window = taken ? seconds(taken.toISOString(), step.started_at!) : null;
          return (
            `- Data-loss window: ${window === null ? 'unknown' : formatSeconds(window)} (${step.id} restored ` +
            `snapshot ${step.snapshot}, taken ${taken?.toISOString() ?? '?'}: changes made after it and ` +
            `before ${step.started_at} are lost unless recovered by hand)`
          );
        })
      : ['- Data-loss window: no restore was recorded on this incident.']),
    '',
    '## Root cause',
    '',
    PERSON,
    ...incident.timeline
      .filter((e) => e.status === 'identified')
      .map((e) => `- Noted when identified (${e.at}): ${e.message}`),
    '',
    '## Response evaluation',
    '',
    `- RTO achieved: ${rto === null ? 'not recovered yet' : formatSeconds(rto)} ` +
      `(objective ${formatSeconds(options.rtoMs / 1000)}: ` +
      `${rto === null ? 'open' : rto * 1000 <= options.rtoMs ? 'met' : 'MISSED'})`,
    `- What went well, what did not: ${PERSON}`,
    '',
    '| time | after | by | entry |',
    '|---|---|---|---|',
    ...incident.timeline.map(
      (e) =>
        `| ${e.at} | ${formatSeconds(seconds(opened, e.at))} | ${e.by} ` +
        `| ${e.visibility === 'internal' ? '(internal) ' : ''}${e.status ? `[${e.status}] ` : ''}` +
        `${e.message.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`,
    ),
  ];
  if (steps.length) {
    lines.push(
      '',
      '### Runbook steps',
      '',
      '| runbook | step | result | started | took | summary |',
      '|---|---|---|---|---|---|',
    );
    for (const { run, step } of steps)
      lines.push(
        `| ${run.runbook} | ${step.id} (${step.type}) | ${step.status} | ${step.started_at} ` +
          `| ${step.seconds === undefined ? '—' : formatSeconds(step.seconds)} ` +
          `| ${(step.summary ?? '').replace(/\|/g, '\\|')} |`,
      );
  }
  lines.push('', '## Action items', '', `- ${PERSON}`);
  for (const { run, step } of steps.filter(({ step }) => step.status === 'failed'))
    lines.push(`- Runbook ${run.runbook}, step ${step.id} failed: ${step.summary ?? ''} Fix the cause or the runbook.`);
  if (rto !== null && rto * 1000 > options.rtoMs)
    lines.push(
      `- Recovery took ${formatSeconds(rto)}, over the ${formatSeconds(options.rtoMs / 1000)} objective: ` +
        `find what took longest above.`,
    );
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `<dir>/YYYY-MM-DD-<slug>.md` (the incident's opening date and title) and marks the
 * incident as reported; refuses to overwrite a report a person may have completed.
 */
export async function writeIncidentReport(
  notifier: Notifier,
  idOrPrefix: string,
  dir: string,
  options: IncidentReportOptions,
): Promise<{ path: string; incident: string }> {
  const incident = await notifier.get(idOrPrefix);
  const file = path.resolve(dir, `${incident.openedAt.slice(0, 10)}-${slug(incident.title)}.md`);
  const text = incidentReport(incident, await runsOf(notifier.store, incident.id), options);
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(file, text, { flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY });
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw e;
    throw new RunbookError(RunbookErrorCode.REPORT_EXISTS, `${file} exists already: it was not overwritten.`, {
      hint: 'It may hold what people wrote: edit it, or move it away and write the report again.',
    });
  }
  await notifier.store.put(`${REPORT_PREFIX}${incident.id}`, {
    path: file,
    written_at: new Date(options.now?.() ?? Date.now()).toISOString(),
  });
  await notifier.report({
    by: 'incident-report',
    severity: 'P3',
    title: `Incident report due: ${incident.title}`,
    message: `Written: ${file}`,
    dedupKey: `report-due:${incident.id}`,
    resolve: true,
  });
  return { path: file, incident: incident.id };
}
