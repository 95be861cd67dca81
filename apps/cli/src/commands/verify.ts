import { type DamageReport, verifyRef } from '@drkit/integrity-verifier';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { stopsSafely } from '../interrupt.js';
import { bytes, type GlobalOptions, printJson, say, shownName, warn } from '../output.js';
import { transferProgress } from '../progress.js';
import { type FilterFlags, filterOf, resolveRef } from '../selection.js';

export async function run(
  [ref]: unknown[],
  opts: GlobalOptions & FilterFlags & { markClean?: boolean },
): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const repo = await openRepo(opts, config);
  const progress = transferProgress(!opts.json);
  // `latest` means this config's latest (selection.ts); `all` is every snapshot the filter selects.
  const chosen = ref === 'all' ? 'all' : (await resolveRef(repo, ref as string, opts, config)).id;
  const reports = await verifyRef(repo, chosen, {
    filter: filterOf(opts),
    jsonlGlobs: config?.validation?.jsonl,
    onProgress: (p) => progress.update(`verifying ${p.source}: ${p.entries} entries,`, p.bytes, p.totalBytes),
    onWarning: (message) => warn(`warning: ${message}`),
    signal: stopsSafely(
      'its lock: the next drkit command on this host (or `drkit unlock`) removes it; verify changes nothing',
    ),
  });
  progress.done();
  const ok = reports.every((r) => r.ok);
  // Only a snapshot whose every byte was just proven good earns the tag restores can ask for.
  const marked: string[] = [];
  if (opts.markClean)
    for (const r of reports) {
      if (!r.ok || r.status !== 'complete' || !r.contentChecked) continue;
      const snap = await repo.resolveSnapshot(r.snapshot);
      if (!snap.tags.includes('clean')) await repo.setTags(snap.id, [...snap.tags, 'clean']);
      marked.push(snap.id);
    }
  if (opts.json) printJson({ ok, snapshots: reports, ...(opts.markClean ? { markedClean: marked } : {}) });
  else {
    for (const r of reports) {
      say(
        `${r.ok ? 'OK    ' : 'FAILED'} ${r.snapshot}` +
          `${r.status === 'partial' ? ' (partial backup)' : r.status === 'unreadable' ? ' (metadata unreadable)' : ''}`,
      );
      if (r.damaged) warn(`    bad-metadata: [${r.damagedCode}] ${r.damaged}`);
      for (const b of r.unrestorableBecause ?? [])
        warn(
          `    unrestorable: source "${b.source}" needs snapshot ${b.snapshot}, whose metadata ` +
            `is ${b.state === 'damaged' ? `damaged (${b.reason})` : 'missing'}`,
        );
      for (const f of r.failedSources ?? []) warn(`    not in this snapshot: ${f.reason}`);
      for (const e of r.errors ?? [])
        warn(`    not read at backup time: ${e.source ? `${e.source}: ` : ''}${naming(e.message, e.path)}`);
      if (r.signedBy) say(`  signed by ${r.signedBy} (a pinned key)`);
      for (const s of r.sources) {
        if (s.contentChecked === false)
          say(
            `  ${s.name}: ${bytes(s.bytes)} of stored blobs checked against their ` +
              `sha256${s.ok ? '' : `, ${s.problems.length} problem(s)`}; ${s.note ?? 'contents not checked'}`,
          );
        else
          say(
            `  ${s.name}: ${s.entries} entries, ${bytes(s.bytes)} checked` +
              `${s.ok ? '' : `, ${s.problems.length} problem(s)`}`,
          );
        for (const p of s.problems) {
          // A Redis entry is a key as displayKey shows it (quoted or hex), not a path.
          const path = s.type === 'redis' ? undefined : p.entry;
          warn(`    ${p.kind}${p.entry ? ` ${path ? warnedName(path) : p.entry}` : ''}: ${naming(p.message, path)}`);
        }
        if (s.damage) for (const line of damageLines(s.damage)) warn(`    ${line}`);
        for (const f of s.findings) warn(`    finding: ${naming(f.message, f.path)}`);
        if (s.findingsTotal > s.findings.length) warn(`    … ${s.findingsTotal - s.findings.length} more findings`);
        // What the backup noted that this verify did not find again
        // itself (e.g. a file that changed while it was read).
        const found = new Set(s.findings.map((f) => `${f.kind}\0${f.path}\0${f.line}`));
        const noted = (s.backupFindings ?? []).filter((f) => !found.has(`${f.kind}\0${f.path}\0${f.line}`));
        for (const f of noted) warn(`    noted at backup time: ${naming(f.message, f.path)}`);
        const unlisted = (s.backupFindingsTotal ?? 0) - (s.backupFindings?.length ?? 0);
        if (unlisted > 0) warn(`    … ${unlisted} more noted at backup time`);
      }
    }
    if (reports.length === 0) say('no snapshots to verify');
    if (reports.some((r) => !r.contentChecked && r.status !== 'unreadable'))
      say('note: pass --identity FILE (or DRKIT_IDENTITY_FILE) to check the contents of encrypted snapshots too.');
    if (opts.markClean) say(`tagged clean: ${marked.join(', ') || 'none'}`);
  }
  return ok ? ExitCode.OK : ExitCode.VERIFY_FAILED;
}

/** A path from the repository in a line on stderr: on a terminal, a newline in it cannot start a line of its own. */
const warnedName = (name: string) => shownName(name, process.stderr);

/** A message with the path it names shown as warnedName shows it. */
const naming = (message: string, path: string | undefined) =>
  path ? message.replaceAll(path, warnedName(path)) : message;

/** Which byte ranges are damaged and what `restore --salvage` would make of the source. */
function damageLines(d: DamageReport): string[] {
  const lines = d.blobs.map(
    (b) =>
      `damaged: ${b.key}${
        b.spans.length
          ? `, bytes ${b.spans.map((s) => `${s.start}–${s.end - 1}`).join(', ')}`
          : ' (its sha256 does not match; no entry is affected)'
      }`,
  );
  lines.push(
    `salvage: \`drkit restore --salvage\` would restore ${d.restorable} entries and ` +
      `lose ${d.lost.length + d.unverified.length}`,
  );
  for (const l of d.lost) lines.push(`  lost: ${warnedName(l.path)}: ${naming(l.reason, l.path)}`);
  for (const u of d.unverified)
    lines.push(
      `  not restorable: ${warnedName(u)}: its line in the damaged index is lost, so there is nothing to check ` +
        'it against',
    );
  return lines;
}
