import type { Counts, PlanAction, RestorePlan } from './plan-model.js';

export interface FormatPlanOptions {
  /** List at most this many entries (default: all). */
  maxItems?: number;
  /** How a path is shown (default: as it is); the CLI escapes names on a terminal, as `drkit ls` does. */
  showName?: (path: string) => string;
}

// As `ls -F` marks them.
const TYPE_MARK = { file: '', dir: '/', symlink: '@' } as const;

/** The plan for humans, as `drkit restore --dry-run` prints it. */
export function formatPlan(plan: RestorePlan, options: FormatPlanOptions = {}): string {
  const show = options.showName ?? ((p: string) => p);
  const policy = plan.overwrite ? `overwrite: ${plan.overwrite}` : 'no overwrite';
  const withItems = new Set(plan.items.map((i) => i.source));
  const lines = [
    `Restore snapshot ${plan.snapshot} into ${show(plan.target)} (` +
      `${plan.targetState === 'missing' ? 'new folder' : `${plan.targetState} folder`}, ${policy})`,
    ...plan.sources.map(
      (s) =>
        `  source ${s.name} -> ${s.dir ? `${s.dir}/` : '(the target itself)'}` +
        `${withItems.has(s.name) ? '' : ': nothing selected'}`,
    ),
  ];
  for (const s of plan.notRestored ?? [])
    lines.push(`  source ${s.name} is a ${s.type} source: not restored into a folder`);
  if (plan.include) lines.push(`  include ${plan.include.join(', ')}`);
  const width = Math.max(0, ...plan.items.map((i) => i.action.length));
  const shown = plan.items.slice(0, options.maxItems ?? plan.items.length);
  for (const item of shown) {
    const size = item.type === 'file' ? `  ${formatBytes(item.size)}` : '';
    const reason = item.reason ? `  (${item.reason})` : '';
    lines.push(
      `  ${item.action.padEnd(width)}  ${item.path ? show(item.path) : '.'}${TYPE_MARK[item.type]}${size}${reason}`,
    );
  }
  if (shown.length < plan.items.length) lines.push(`  … and ${plan.items.length - shown.length} more`);
  for (const r of plan.remove ?? [])
    lines.push(
      `  ${'remove'.padEnd(width)}  ${show(r.path)}` +
        `${r.type === 'dir' ? '/ (and all below it)' : r.type === 'symlink' ? '@' : ''}`,
    );
  if (plan.items.length === 0) lines.push('  (nothing selected)');
  lines.push(`Selected: ${describe(plan.totals)}`, `To write: ${describe(plan.toWrite)}`);
  if (plan.items.some((i) => i.action === 'set-mtime'))
    lines.push(`Content kept, mtime set: ${describe(plan.mtimeOnly)}`);
  lines.push(`Left as they are: ${describe(plan.skipped)}${skipReasons(plan)}`);
  if (plan.remove) lines.push(`To remove (not in the snapshot): ${plan.remove.length} path(s)`);
  return lines.join('\n');
}

function describe(c: Counts): string {
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `${n(c.files, 'file')} (${formatBytes(c.bytes)}), ${n(c.dirs, 'folder')}, ${n(c.symlinks, 'symlink')}`;
}

function skipReasons(plan: RestorePlan): string {
  const count = (a: PlanAction) => plan.items.filter((i) => i.action === a).length;
  const unchanged = count('skip-unchanged');
  const existing = count('skip-existing');
  return unchanged + existing === 0 ? '' : ` (${unchanged} unchanged, ${existing} existing kept)`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
