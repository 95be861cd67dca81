import type { SourceMeta } from '@drkit/repository';
import type { ProblemKind, SourceReport } from './verify.js';

/** A source's report before anything is checked, and the function that records a problem in it. */
export function startSourceReport({ name, type }: Pick<SourceMeta, 'name' | 'type'>): {
  report: SourceReport;
  problem: (kind: ProblemKind, message: string, entry?: string) => void;
} {
  const report: SourceReport = {
    name,
    type,
    ok: true,
    entries: 0,
    bytes: 0,
    problems: [],
    findings: [],
    findingsTotal: 0,
  };
  const problem = (kind: ProblemKind, message: string, entry?: string) => {
    report.problems.push({ kind, source: name, ...(entry ? { entry } : {}), message });
  };
  return { report, problem };
}
