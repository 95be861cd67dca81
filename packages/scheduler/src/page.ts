import type { FailoverStatus } from '@drkit/failover';
import type { Incident } from '@drkit/notify';
import type { RunRecord } from './history.js';
import type { Job } from './plan.js';
import { humanSeconds, type SourceRpo } from './rpo.js';

export interface OperatorView {
  now: number;
  jobs: { job: Job; last?: RunRecord; next?: number; running: boolean }[];
  rpo: SourceRpo[];
  objectiveSeconds: number;
  incidents: Incident[];
  outbox: { pending: number; failed: number; delivered: number };
  /** Backup runs of the last 30 days, oldest first (for the charts). */
  backups: RunRecord[];
  /** Drills of the last year (drkit drill history), oldest first: their RTO is charted when there are any. */
  drills?: { at: number; rtoSeconds: number | null; passed: boolean }[];
  rtoObjectiveSeconds?: number;
  /** The hosted failover monitor's site, when `failover:` is configured. */
  failover?: FailoverStatus;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const time = (ms: number | undefined) =>
  ms === undefined
    ? '—'
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');

/** A line chart as inline SVG (no script): points over the last `days` days (30 unless said), axis labels as text. */
export function lineChart(
  title: string,
  unit: string,
  points: { at: number; value: number }[],
  now: number,
  { days = 30, what = 'runs', none = 'no backup runs yet' } = {},
): string {
  const width = 640;
  const height = 180;
  const pad = { left: 56, right: 12, top: 24, bottom: 28 };
  const from = now - days * 86_400_000;
  const max = Math.max(1, ...points.map((p) => p.value));
  const x = (at: number) => pad.left + ((at - from) / (now - from)) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const label = (v: number) => (unit === 'bytes' ? bytes(v) : humanSeconds(v));
  return (
    `<figure class="chart"><svg role="img" aria-labelledby="${slug(title)}" viewBox="0 0 ${width} ${height}" ` +
    `width="100%" xmlns="http://www.w3.org/2000/svg">
<title id="${slug(title)}">${escapeHtml(title)}: ${points.length} ${what} in the last ${days} days, at ` +
    `most ${escapeHtml(label(max))}</title>
<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#555"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#555"/>
<text x="${pad.left - 6}" y="${pad.top + 4}" text-anchor="end" font-size="11">${escapeHtml(label(max))}</text>
<text x="${pad.left - 6}" y="${height - pad.bottom}" text-anchor="end" font-size="11">0</text>
<text x="${pad.left}" y="${height - 8}" font-size="11">${days} days ago</text>
<text x="${width - pad.right}" y="${height - 8}" text-anchor="end" font-size="11">now</text>
${
  points.length
    ? `<path d="${path}" fill="none" stroke="#1f5fa8" stroke-width="2"/>` +
      points
        .map((p) => `<circle cx="${x(p.at).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="#1f5fa8"/>`)
        .join('')
    : `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" font-size="13">${escapeHtml(none)}</text>`
}
</svg><figcaption>${escapeHtml(title)}</figcaption></figure>`
  );
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-');

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) [n, i] = [n / 1024, i + 1];
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

const STYLE =
  `body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:980px;padding:1rem;color:#111;background:#fff}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}` +
  `th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}
.ok{color:#0b6b2b}.bad{color:#a10d0d;font-weight:600}.warn{color:#8a5200;font-weight:600}` +
  `figure{margin:0 0 1.5rem}figcaption{font-size:.9rem;color:#333}
@media (max-width:640px){td,th{padding:.25rem}}`;

function resultCell(run: RunRecord | undefined): string {
  if (!run) return '<td>never</td>';
  const cls =
    run.result === 'success'
      ? 'ok'
      : run.result === 'running' || run.result === 'skipped' || run.result === 'partial'
        ? 'warn'
        : 'bad';
  return (
    `<td><span class="${cls}">${escapeHtml(run.result)}</span> ` +
    `${escapeHtml(time(Date.parse(run.startedAt ?? run.slot)))}` +
    `${run.errorCode ? ` <code>${escapeHtml(run.errorCode)}</code>` : ''}` +
    `${run.reason ? ` (${escapeHtml(run.reason)})` : ''}</td>`
  );
}

/** Drill RTO over the last year (drills are monthly), with the objective and each drill's verdict in words. */
function drillSection(view: OperatorView): string {
  if (!view.drills?.length) return '';
  const points = view.drills.flatMap((d) => (d.rtoSeconds === null ? [] : [{ at: d.at, value: d.rtoSeconds }]));
  const failed = view.drills.filter((d) => !d.passed).length;
  const objective =
    view.rtoObjectiveSeconds === undefined ? '' : ` (objective ${humanSeconds(view.rtoObjectiveSeconds)})`;
  return (
    `
<section aria-labelledby="drills"><h2 id="drills">Drills, last year</h2>
<p>${view.drills.length} drill(s), ` +
    `${failed ? `<span class="bad">${failed} failed</span>` : '<span class="ok">all passed</span>'}; the ` +
    `newest ${view.drills.at(-1)!.passed ? 'passed' : 'failed'} ${escapeHtml(time(view.drills.at(-1)!.at))}.</p>
${lineChart(`Drill RTO${objective}`, 'seconds', points, view.now, {
  days: 365,
  what: 'drills with an RTO',
  none: 'no drill reached its RTO',
})}
</section>`
  );
}

/** The failover site's state, epoch and lease, and the steps of its last run. */
function failoverSection(status: FailoverStatus | undefined): string {
  if (!status) return '';
  const cls =
    status.state === 'healthy' ? 'ok' : status.state === 'degraded' || status.state === 'failing' ? 'warn' : 'bad';
  const steps = status.run
    ? `<table><thead><tr><th scope="col">step</th><th scope="col">result</th><th scope="col">took</th>` +
      `<th scope="col">detail</th></tr></thead><tbody>${status.run.steps
        .map(
          (st) =>
            `<tr><th scope="row">${escapeHtml(st.step)}</th><td class="` +
            `${st.status === 'ok' ? 'ok' : st.status === 'failed' ? 'bad' : 'warn'}">${escapeHtml(st.status)}` +
            `</td><td>${st.ms === undefined ? '—' : escapeHtml(humanSeconds(st.ms / 1000))}</td><td>` +
            `${escapeHtml(st.detail ?? '')}</td></tr>`,
        )
        .join('\n')}</tbody></table>`
    : '';
  return (
    `
<section aria-labelledby="failover"><h2 id="failover">Failover of site ${escapeHtml(status.site)}</h2>
<p><span class="${cls}">${escapeHtml(status.state)}</span> since ${escapeHtml(time(Date.parse(status.since)))}` +
    `${status.reason ? ` (${escapeHtml(status.reason)})` : ''}. Fencing epoch ${status.epoch}; ` +
    `lease ${status.lease ? `held by ${escapeHtml(status.lease.holder)}` : 'free'}.${
      status.paused
        ? ' <span class="warn">Automatic failover paused.</span>'
        : status.held
          ? ` Automatic failover held back: ${escapeHtml(status.held)}.`
          : ''
    }</p>
${
  status.run
    ? `<p>Last run: epoch ${status.run.epoch}, ${escapeHtml(status.run.trigger)} ` +
      `(${escapeHtml(status.run.reason)}), ${escapeHtml(status.run.outcome)}.</p>${steps}`
    : ''
}
</section>`
  );
}

/** The operator page: readable without JavaScript, every colour also said in words. */
export function renderOperatorPage(view: OperatorView): string {
  const jobs = view.jobs
    .map(
      ({ job, last, next, running }) =>
        `<tr><th scope="row">${escapeHtml(job.name)}</th>` +
        `<td><code>drkit ${escapeHtml([job.run, ...job.args].join(' '))}</code></td><td>${
          job.cron
            ? `<code>${escapeHtml(job.cron)}</code> ${escapeHtml(job.timezone)}`
            : `after ${escapeHtml(job.after.join(', '))}`
        }</td>${resultCell(last)}<td>${
          running ? '<span class="warn">running now</span>' : escapeHtml(time(next))
        }</td></tr>`,
    )
    .join('\n');
  const rpo = view.rpo
    .map((r) => {
      const state = r.breach
        ? `<span class="bad">${r.breach}: past ${r.breach === 'P1' ? 'twice ' : ''}the objective</span>`
        : '<span class="ok">within the objective</span>';
      return (
        `<tr><th scope="row">${escapeHtml(r.source)}</th><td>${escapeHtml(humanSeconds(r.ageSeconds))}` +
        `</td><td>${escapeHtml(humanSeconds(view.objectiveSeconds))}</td><td>${state}</td><td>` +
        `${escapeHtml(time(r.lastSuccess))}</td><td>${escapeHtml(time(r.lastClean))}</td></tr>`
      );
    })
    .join('\n');
  const incidents = view.incidents.length
    ? `<table><thead><tr><th scope="col">severity</th><th scope="col">incident</th><th scope="col">opened</th><th ` +
      `scope="col">last update</th></tr></thead><tbody>${view.incidents
        .map(
          (i) =>
            `<tr><td class="${i.severity === 'P1' || i.severity === 'P2' ? 'bad' : 'warn'}">${i.severity}` +
            `</td><td>${escapeHtml(i.title)} <small>${escapeHtml(i.id)}</small></td><td>` +
            `${escapeHtml(time(Date.parse(i.openedAt)))}</td><td>` +
            `${escapeHtml(i.timeline.at(-1)?.message ?? '')}</td></tr>`,
        )
        .join('\n')}</tbody></table>`
    : '<p class="ok">No open incidents.</p>';
  const points = (value: (r: RunRecord) => number | undefined) =>
    view.backups.flatMap((r) => {
      const v = value(r);
      return v === undefined ? [] : [{ at: Date.parse(r.startedAt ?? r.slot), value: v }];
    });
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,` +
    `initial-scale=1"><link rel="icon" href="data:,"><title>drkit scheduler</title><style>${STYLE}</style></head>
<body><header><h1>drkit scheduler</h1><p>As of ${escapeHtml(time(view.now))}. <a href="/status">Status page</a> · ` +
    `<a href="/metrics">Metrics</a></p></header>
<main>
<section aria-labelledby="jobs"><h2 id="jobs">Jobs</h2>
<table><thead><tr><th scope="col">job</th><th scope="col">runs</th><th scope="col">when</th>` +
    `<th scope="col">last run</th><th scope="col">next run</th></tr></thead><tbody>
${jobs}
</tbody></table></section>
<section aria-labelledby="rpo"><h2 id="rpo">Recovery point per source</h2>
<table><thead><tr><th scope="col">source</th><th scope="col">RPO now</th><th scope="col">objective</th>` +
    `<th scope="col">state</th><th scope="col">newest snapshot</th><th scope="col">newest verified clean</th>` +
    `</tr></thead><tbody>
${rpo}
</tbody></table></section>
${failoverSection(view.failover)}
<section aria-labelledby="incidents"><h2 id="incidents">Open incidents</h2>${incidents}</section>
<section aria-labelledby="outbox"><h2 id="outbox">Notifications</h2>` +
    `<p>${view.outbox.pending} waiting, ${view.outbox.failed} failed, ` +
    `${view.outbox.delivered} delivered (kept 7 days).</p></section>
<section aria-labelledby="charts"><h2 id="charts">Backups, last 30 days</h2>
${lineChart(
  'Backup duration',
  'seconds',
  points((r) => (r.durationMs === undefined ? undefined : r.durationMs / 1000)),
  view.now,
)}
${lineChart(
  'Backup size stored',
  'bytes',
  points((r) => r.sources?.reduce((sum, s) => sum + s.bytes, 0)),
  view.now,
)}
</section>${drillSection(view)}
</main></body></html>`
  );
}
