import type { ComponentState, IncidentStatus } from '../model.js';
import type { Indicator, MaintenanceStatus, PageComponent, PageIncident, PageMaintenance, StatusPage } from './page.js';
import { STATE_LABEL } from './states.js';
import type { UptimeDay } from './uptime.js';

/** Text into HTML, for element content and quoted attributes alike: every title and message is user input. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STATUS_LABEL: Record<IncidentStatus | MaintenanceStatus, string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
  scheduled: 'Scheduled',
  in_progress: 'In progress',
  completed: 'Completed',
};

/** A shape beside each colour, so that the state never rests on colour alone (the words follow it too). */
const STATE_ICON: Record<ComponentState, string> = {
  operational: '✓',
  under_maintenance: '⚙',
  degraded_performance: '!',
  partial_outage: '▲',
  major_outage: '✕',
};

const INDICATOR_STATE: Record<Indicator, ComponentState> = {
  none: 'operational',
  minor: 'degraded_performance',
  major: 'partial_outage',
  critical: 'major_outage',
  maintenance: 'under_maintenance',
};

// Every text colour keeps at least 4.5:1 against its background (WCAG AA); the browser test measures it.
const CSS =
  `
:root{color-scheme:light;--text:#1f2328;--muted:#57606a;--line:#d0d7de;--operational:#116329;` +
  `--under_maintenance:#0550ae;--degraded_performance:#7d4e00;--partial_outage:#953800;--major_outage:#a40e26}
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--text);background:#fff}
.wrap{max-width:48rem;margin:0 auto;padding:1rem}
a{color:#0550ae}
h1{font-size:1.5rem;margin:0 0 .5rem}
h2{font-size:1.25rem;margin:2rem 0 .75rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
h3{font-size:1.05rem;margin:0}
p{margin:.25rem 0}
ul,ol{list-style:none;margin:0;padding:0}
time,.muted{color:var(--muted)}
.overall{color:#fff;border-radius:.5rem;padding:.75rem 1rem;font-size:1.15rem;font-weight:600;margin:.5rem 0}
.overall.operational{background:var(--operational)}.overall.under_maintenance{background:var(--under_maintenance)}` +
  `.overall.degraded_performance{background:var(--degraded_performance)}` +
  `.overall.partial_outage{background:var(--partial_outage)}.overall.major_outage{background:var(--major_outage)}
.stale{border:3px solid #7d4e00;background:#fff8c5;color:#3b2300;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
.stale h2{margin:0 0 .25rem;border:0;padding:0}
.stale time{color:#3b2300}
.state{font-weight:600;white-space:nowrap}
.state.operational{color:var(--operational)}.state.under_maintenance{color:var(--under_maintenance)}` +
  `.state.degraded_performance{color:var(--degraded_performance)}.state.partial_outage{color:var(--partial_outage)}` +
  `.state.major_outage{color:var(--major_outage)}
.card{border:1px solid var(--line);border-left-width:.4rem;border-radius:.5rem;padding:.75rem 1rem;margin:0 0 1rem}
.card.operational{border-left-color:var(--operational)}` +
  `.card.under_maintenance{border-left-color:var(--under_maintenance)}` +
  `.card.degraded_performance{border-left-color:var(--degraded_performance)}` +
  `.card.partial_outage{border-left-color:var(--partial_outage)}` +
  `.card.major_outage{border-left-color:var(--major_outage)}
.updates li{border-top:1px solid var(--line);padding:.5rem 0 0;margin:.5rem 0 0}
.message{white-space:pre-wrap;overflow-wrap:anywhere}
.component{border-bottom:1px solid var(--line);padding:.75rem 0}
.row{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem 1rem;align-items:baseline}
.bars{display:flex;gap:1px;height:2rem;margin:.5rem 0 .25rem}
.bar{flex:1;border-radius:1px;background:#4ac26b}
.bar.degraded_performance{background:#d4a72c}.bar.partial_outage{background:#e16f24}` +
  `.bar.major_outage{background:#cf222e}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
footer{border-top:1px solid var(--line);margin-top:2rem;font-size:.9rem}
`;

const utc = (isoTime: string) => `${isoTime.slice(0, 10)} ${isoTime.slice(11, 16)} UTC`;
const time = (isoTime: string) => `<time datetime="${escapeHtml(isoTime)}">${escapeHtml(utc(isoTime))}</time>`;

function stateText(state: ComponentState): string {
  return (
    `<span class="state ${state}"><span aria-hidden="true">${STATE_ICON[state]} ` +
    `</span>${STATE_LABEL[state]}</span>`
  );
}

function minutesText(minutes: number): string {
  return minutes < 120 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A day in words: what its bar's colour says. */
function dayText(day: UptimeDay): string {
  const parts = [
    day.majorMinutes && `${minutesText(day.majorMinutes)} major outage`,
    day.partialMinutes && `${minutesText(day.partialMinutes)} partial outage`,
    day.degradedMinutes && `${minutesText(day.degradedMinutes)} degraded performance`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no incidents';
}

function dayState(day: UptimeDay): ComponentState {
  if (day.majorMinutes) return 'major_outage';
  if (day.partialMinutes) return 'partial_outage';
  return day.degradedMinutes ? 'degraded_performance' : 'operational';
}

function componentHtml(c: PageComponent, uptimeDays: number): string {
  const bad = c.uptime.days.filter((d) => dayState(d) !== 'operational');
  const history = bad.length
    ? `Incidents on ${bad.length === 1 ? 'one day' : `${bad.length} days`}: ` +
      `${bad.map((d) => `${d.date} (${dayText(d)})`).join('; ')}.`
    : `No incidents in the last ${uptimeDays} days.`;
  return (
    `<li class="component" id="component-${escapeHtml(c.id)}">
<div class="row"><h3>${escapeHtml(c.name)}</h3><p>${stateText(c.state)}` +
    `${c.since ? ` <span class="muted">since</span> ${time(c.since)}` : ''}</p></div>
${c.description ? `<p class="muted">${escapeHtml(c.description)}</p>` : ''}
<div class="bars" aria-hidden="true">${c.uptime.days
      .map((d) => `<span class="bar ${dayState(d)}" title="${d.date}: ${dayText(d)}"></span>`)
      .join('')}</div>
<p class="uptime"><strong>${c.uptime.percent.toFixed(2)} % uptime</strong> over the last ${uptimeDays} ` +
    `days. ${escapeHtml(history)}</p>
</li>`
  );
}

function updatesHtml(updates: PageIncident['updates']): string {
  if (updates.length === 0) return '';
  return `<ol class="updates" aria-label="Updates, newest first">${updates
    .map(
      (u) =>
        `<li><p><strong>${STATUS_LABEL[u.status]}</strong> · ${time(u.at)}</p>` +
        `${u.message ? `<p class="message">${escapeHtml(u.message)}</p>` : ''}</li>`,
    )
    .join('')}</ol>`;
}

function incidentHtml(i: PageIncident): string {
  const affected = i.components.map(escapeHtml).join(', ');
  const state: ComponentState = i.resolvedAt ? 'operational' : i.state;
  return (
    `<article class="card incident ${state}" id="incident-${escapeHtml(i.id)}" ` +
    `aria-labelledby="incident-${escapeHtml(i.id)}-title">
<h3 id="incident-${escapeHtml(i.id)}-title">${escapeHtml(i.title)}</h3>
<p>${
      i.resolvedAt
        ? `<strong>Resolved</strong> · ${time(i.resolvedAt)}`
        : `${stateText(i.state)} · <strong>${STATUS_LABEL[i.status]}</strong> · since ${time(i.openedAt)}`
    }</p>
${affected ? `<p>Affects: ${affected}</p>` : ''}
${updatesHtml(i.updates)}
</article>`
  );
}

function maintenanceHtml(m: PageMaintenance): string {
  return (
    `<article class="card maintenance under_maintenance" id="maintenance-${escapeHtml(m.id)}" ` +
    `aria-labelledby="maintenance-${escapeHtml(m.id)}-title">
<h3 id="maintenance-${escapeHtml(m.id)}-title">${escapeHtml(m.title)}</h3>
<p><strong>${STATUS_LABEL[m.status]}</strong> · ${time(m.startsAt)} to ${time(m.endsAt)}</p>
${m.components.length ? `<p>Affects: ${m.components.map(escapeHtml).join(', ')}</p>` : ''}
${m.message ? `<p class="message">${escapeHtml(m.message)}</p>` : ''}
</article>`
  );
}

function staleHtml(page: StatusPage): string {
  if (page.stale.length === 0) return '';
  const promise = Math.round(page.staleAfterMs / 60_000);
  return `<section class="stale" id="stale" aria-labelledby="stale-heading">
<h2 id="stale-heading"><span aria-hidden="true">⚠ </span>This page may be out of date</h2>
<p>During a major incident we post an update at least every ${promise} minutes, and that has not happened:</p>
<ul>${page.stale
    .map(
      (s) =>
        `<li>“${escapeHtml(s.title)}” (${s.severity}): last update ` +
        `${minutesText(Math.floor(s.ageMs / 60_000))} ago, at ${time(s.lastPublicUpdateAt)}.</li>`,
    )
    .join('')}</ul>
<p>The incident is still open; the situation may have changed since.</p>
</section>`;
}

function section(id: string, heading: string, body: string): string {
  return `<section aria-labelledby="${id}-heading">\n<h2 id="${id}-heading">${heading}</h2>\n${body}\n</section>`;
}

/**
 * The whole page as one HTML document: no script, no external resource (an empty inline icon, so a
 * browser asks for no /favicon.ico), readable on a phone.
 */
export function renderStatusPage(page: StatusPage): string {
  const overall = INDICATOR_STATE[page.indicator];
  const title = escapeHtml(page.title);
  const body = [
    staleHtml(page),
    page.incidents.length ? section('incidents', 'Current incidents', page.incidents.map(incidentHtml).join('\n')) : '',
    page.maintenance.length
      ? section('maintenance', 'Scheduled maintenance', page.maintenance.map(maintenanceHtml).join('\n'))
      : '',
    section(
      'components',
      'Components',
      page.components.length
        ? `<p class="muted">Uptime counts the minutes of partial or major outage as down; each bar is one day ` +
            `(UTC), oldest first.</p><ul>` +
            `${page.components.map((c) => componentHtml(c, page.uptimeDays)).join('\n')}</ul>`
        : '<p>No components are configured.</p>',
    ),
    section(
      'history',
      `Past incidents (last ${page.historyDays} days)`,
      page.history.length
        ? page.history.map(incidentHtml).join('\n')
        : `<p>No incidents in the last ${page.historyDays} days.</p>`,
    ),
  ]
    .filter(Boolean)
    .join('\n');
  return (
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${page.stale.length ? 'Out of date: ' : ''}${title} status: ${escapeHtml(page.description)}</title>
<style>${CSS}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="wrap">
<h1>${title} status</h1>
<p class="overall ${overall}" id="overall"><span aria-hidden="true">${STATE_ICON[overall]} ` +
    `</span>${escapeHtml(page.description)}</p>
<p>As of ${time(page.generatedAt)}</p>
</header>
<main class="wrap" id="main">
${body}
</main>
<footer class="wrap">
<p>Times are in UTC. This page is static and served apart from the service it reports on; it changes when it is ` +
    `published again. Machine-readable: <a href="summary.json">summary.json</a> (Statuspage's summary format).</p>
</footer>
</body>
</html>
`
  );
}
