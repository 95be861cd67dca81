import type { DrillProblem, SourceCheck } from './read-back.js';

export const PHASES = [
  'select',
  'restore-files',
  'restore-redis',
  'verify',
  'service-start',
  'smoke',
  'service-stop',
  'runbook-dry-run',
] as const;
export type PhaseName = (typeof PHASES)[number];

export interface PhaseReport {
  name: PhaseName;
  ok: boolean;
  /** Wall time of the phase. */
  seconds: number;
  /** Its part of the RTO (phases up to the service being healthy), 0–1; null after. */
  share: number | null;
  detail?: string;
}

/** What one drill did and measured; stored in the state store and printed by `drkit drill --json`. */
export interface DrillReport {
  id: string;
  scenario: 'restore' | 'full';
  started_at: string;
  finished_at: string;
  passed: boolean;
  /** Drill start → service healthy (without a service: → data verified); null when it never got there. */
  rto_seconds: number | null;
  /** Age of the restored snapshot at the drill's start: the data a recovery from it would lose. */
  rpo_seconds: number;
  objectives: { rto_seconds: number; rpo_seconds: number; rto_met: boolean; rpo_met: boolean };
  snapshot: { id: string; time: string; host: string; kind: string; tags: string[] };
  /** The newest snapshot holding each source, and its age at the drill's start. */
  newest: { source: string; snapshot: string; age_seconds: number }[];
  /** Per source, the snapshots whose archives the restore read: the last full first. */
  chain: { source: string; snapshots: string[] }[];
  /** Full scenario: the runbook run in dry-run alongside. */
  runbook?: { name: string; status: string; steps: { id: string; type: string; summary: string }[] };
  phases: PhaseReport[];
  sources: SourceCheck[];
  service: { command: string; healthy: boolean; detail: string } | null;
  problems: DrillProblem[];
  /** Problems past the first 100 are counted, not listed. */
  problems_total: number;
  /** The incident a failed drill opened or updated. */
  incident?: string;
  /** Where the sandbox was (removed afterwards unless kept). */
  sandbox: string;
  sandbox_kept: boolean;
}

function seconds(s: number | null): string {
  if (s === null) return '—';
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
export { seconds as formatSeconds };

/** The report as a person reads it (kept beside the JSON in the state store). */
export function drillMarkdown(r: DrillReport): string {
  const lines = [
    `# Recovery drill ${r.id}: ${r.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `- Scenario: ${r.scenario}; started ${r.started_at}, finished ${r.finished_at}`,
    `- Snapshot: ${r.snapshot.id} (${r.snapshot.kind}, ${r.snapshot.time}, ` +
      `host ${r.snapshot.host}${r.snapshot.tags.length ? `, tags ${r.snapshot.tags.join(', ')}` : ''})`,
    `- RTO: ${seconds(r.rto_seconds)} (objective ${seconds(r.objectives.rto_seconds)}: ` +
      `${r.objectives.rto_met ? 'met' : 'MISSED'})`,
    `- RPO: ${seconds(r.rpo_seconds)} (objective ${seconds(r.objectives.rpo_seconds)}: ` +
      `${r.objectives.rpo_met ? 'met' : 'MISSED'})`,
    ...(r.incident ? [`- Incident: ${r.incident}`] : []),
    '',
    '## Phases',
    '',
    '| phase | result | time | share of RTO | detail |',
    '|---|---|---|---|---|',
    ...r.phases.map(
      (p) =>
        `| ${p.name} | ${p.ok ? 'ok' : 'FAILED'} | ${seconds(p.seconds)} ` +
        `| ${p.share === null ? '—' : `${Math.round(p.share * 100)} %`} | ${(p.detail ?? '').replace(/\|/g, '\\|')} |`,
    ),
    '',
    '## Data',
    '',
    ...r.sources.map((s) =>
      s.type === 'files'
        ? `- ${s.name}: ${s.files} files, ${s.dirs} folders, ${s.symlinks} symlinks, ${s.bytes} bytes read ` +
          `back and checked; JSONL: ${s.jsonl.files} files, ${s.jsonl.lines} lines, ${s.jsonl.invalid_lines} invalid`
        : `- ${s.name}: ${s.keys} Redis keys checked (${s.expired} expired); ${s.dbs
            .map(
              (d) =>
                `db ${d.db}: ${Object.entries(d.types)
                  .map(([t, n]) => `${n} ${t}`)
                  .join(', ')}`,
            )
            .join('; ')}`,
    ),
    ...r.newest.map((n) => `- newest snapshot of ${n.source}: ${n.snapshot}, ${seconds(n.age_seconds)} old`),
    ...r.chain
      .filter((c) => c.snapshots.length > 1)
      .map((c) => `- ${c.source} restored through the chain ${c.snapshots.join(' → ')}`),
  ];
  if (r.runbook) {
    lines.push('', `## Runbook ${r.runbook.name} (dry run): ${r.runbook.status}`, '');
    for (const st of r.runbook.steps) lines.push(`- ${st.id} (${st.type}): ${st.summary}`);
  }
  if (r.problems.length) {
    lines.push('', `## Problems (${r.problems_total})`, '');
    for (const p of r.problems) lines.push(`- [${p.phase}]${p.source ? ` ${p.source}:` : ''} ${p.message}`);
    if (r.problems_total > r.problems.length) lines.push(`- … and ${r.problems_total - r.problems.length} more`);
  }
  return `${lines.join('\n')}\n`;
}
