export type { DamageReport } from './damage-report.js';
export { ContentChecker, type FileResult } from './content-check.js';
export { JsonlChecker } from './jsonl.js';
export {
  type BrokenLink,
  type Problem,
  type ProblemKind,
  type SourceReport,
  type VerifyOptions,
  type VerifyReport,
  verifyRef,
  verifySnapshot,
} from './verify.js';
export { type ChangedEntry, type DiffEntry, diffSnapshots, type SnapshotDiff } from './diff.js';
export { VerifyError, VerifyErrorCode } from './errors.js';
