import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository, type SnapshotMeta } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import {
  executeRestore,
  type OverwritePolicy,
  PLAN_ACTIONS,
  type PlanItem,
  planRestore,
  type RestorePlan,
} from '@drkit/restore-core';
import { type Listed, listing, setMtimes, walkTree } from './helpers.js';

const run = promisify(execFile);

// Every combination of these: the plan a dry run prints must be exactly what the real run does.
const SOURCE_CHOICES: Array<string[] | undefined> = [['config'], ['config', 'logs'], undefined];
const INCLUDES: Array<string[] | undefined> = [undefined, ['*.json'], ['sub'], ['**/*.log']];
const POLICIES: Array<OverwritePolicy | undefined> = [undefined, 'never', 'if-changed', 'always'];
const TARGET_STATES = ['missing', 'empty', 'non-empty'] as const;

let dir: string;
let repo: Repository;
let snapshot: SnapshotMeta;
/** Each source's tree as backed up, by path inside the source ('' = its root folder). */
const trees = new Map<string, Map<string, Listed>>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drkit-plan-run-'));
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')), { compression: 'gzip' });
  const files: Record<string, Record<string, [string, number]>> = {
    config: {
      'app.json': ['{"a":1}\n', 0o644],
      'sub/x.json': ['{}\n', 0o644],
      'sub/y.yaml': ['y: 1\n', 0o600],
      'sub/deep/z.json': ['[]\n', 0o640],
    },
    logs: { 'app/a.log': ['line\n', 0o644], 'app/b.json': ['{"b":2}\n', 0o644] },
    empty: {},
  };
  const writer = await repo.beginSnapshot({ time: new Date(), toolVersion: 'test' });
  for (const [name, tree] of Object.entries(files)) {
    const root = path.join(dir, 'src', name);
    await mkdir(root, { recursive: true });
    for (const [rel, [content, mode]] of Object.entries(tree)) {
      await mkdir(path.join(root, path.dirname(rel)), { recursive: true });
      await writeFile(path.join(root, rel), content, { mode });
      await chmod(path.join(root, rel), mode);
    }
    if (name === 'config') await symlink('app.json', path.join(root, 'sub/link'));
    await chmod(root, 0o751);
    await setMtimes(root, 1_600_000_000_000);
    const st = await lstat(root);
    await utimes(root, 1_500_000_000.25, 1_500_000_000.25);
    const rootMeta = { mode: st.mode & 0o7777, mtime: 1_500_000_000_250 };
    await writer.writeSource({ name, type: 'files', origin: root, root: rootMeta }, walkTree(root));
    trees.set(
      name,
      new Map([
        ['', { path: '', type: 'dir', mode: rootMeta.mode, mtimeMs: rootMeta.mtime }],
        ...(await listing(root)).map((e) => [e.path, e] as const),
      ]),
    );
  }
  snapshot = await writer.commit();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/**
 * A target as a restore left it some time ago, then changed:
 * other content, modes and mtimes, a local file, a file gone.
 */
async function prepareTarget(
  parent: string,
  state: (typeof TARGET_STATES)[number],
  sources: string[] | undefined,
): Promise<string> {
  await mkdir(parent, { recursive: true });
  const target = path.join(parent, 'target');
  if (state === 'missing') return target;
  await mkdir(target);
  if (state === 'empty') return target;
  const straight = sources?.length === 1;
  for (const name of straight ? sources! : ['config', 'logs'])
    await run('cp', ['-a', `${path.join(dir, 'src', name)}/.`, straight ? target : path.join(target, name)]);
  const at = (rel: string) => path.join(target, straight ? '' : 'config', rel);
  await writeFile(at('app.json'), '{"a":2}\n'); // same size, other content
  await chmod(at('sub/x.json'), 0o600); // mode only
  await utimes(at('sub/y.yaml'), 1_234_567_890, 1_234_567_890); // mtime only
  await chmod(at('sub'), 0o700); // a folder's mode
  await rm(at('sub/deep/z.json'));
  await writeFile(at('local.txt'), 'mine');
  await chmod(at(''), 0o755); // the folder the source lands in
  return target;
}

/** What the snapshot holds for a plan item, as `listing` shows it; undefined for a folder no archive holds. */
function snapshotEntry(plan: RestorePlan, item: PlanItem): Listed | undefined {
  const { dir: sourceDir } = plan.sources.find((s) => s.name === item.source)!;
  const entryPath = sourceDir ? item.path.slice(sourceDir.length + 1) : item.path;
  return trees.get(item.source)!.get(entryPath);
}

const byPath = (entries: Listed[]) => new Map(entries.map((e) => [e.path, e]));
const withoutMtime = ({ mtimeMs: _, ...rest }: Listed) => rest;

/**
 * Compares the target after the run with the plan and with the target
 * before it: every item as its action says, nothing else changed.
 */
function expectRunMatchesPlan(
  plan: RestorePlan,
  before: Map<string, Listed>,
  after: Map<string, Listed>,
  label: string,
): void {
  const planned = new Set(plan.items.map((i) => i.path));
  for (const item of plan.items) {
    if (item.path === '') continue; // the target itself: see targetItself
    const got = after.get(item.path);
    const was = before.get(item.path);
    const wanted = snapshotEntry(plan, item);
    const where = `${label}: ${item.action} ${item.path}`;
    expect(got?.type, where).toBe(item.type);
    // Left as it was (a folder's mtime moves with what is moved into it), or as the snapshot has it.
    if (item.action === 'skip-existing')
      expect(item.type === 'dir' ? withoutMtime(got!) : got, where).toEqual(
        item.type === 'dir' ? withoutMtime(was!) : was,
      );
    else if (wanted) expect(got, where).toEqual({ ...wanted, path: item.path });
  }
  for (const [p, entry] of after)
    if (!planned.has(p))
      expect(entry.type === 'dir' ? withoutMtime(entry) : entry, `${label}: unplanned ${p}`).toEqual(
        entry.type === 'dir' ? withoutMtime(before.get(p)!) : before.get(p),
      );
  for (const p of before.keys()) if (!after.has(p)) expect(planned.has(p), `${label}: gone ${p}`).toBe(true);
}

/** The target folder itself, which `listing` leaves out. */
async function targetItself(target: string): Promise<Listed | undefined> {
  const st = await lstat(target).catch(() => undefined);
  return st && { path: '', type: 'dir', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
}

/** Plans, runs the plan as `--dry-run --json` printed it, and checks the target against it; returns the outcome. */
async function planAndRun(n: number, { sources, include, overwrite, state }: Case): Promise<string> {
  const label =
    `sources ${sources ?? 'all'}, include ${include ?? '-'}, ` + `overwrite ${overwrite ?? '-'}, ${state} target`;
  // Each case in a folder of its own, so that the staging folders of the others are not seen as leftovers.
  const parent = path.join(dir, 'cases', String(n));
  const target = await prepareTarget(parent, state, sources);
  const options = {
    snapshot: snapshot.id,
    target,
    ...(sources ? { sources } : {}),
    ...(include ? { include } : {}),
    ...(overwrite ? { overwrite } : {}),
  };
  const planned = await planRestore(repo, options).catch((e) => e as Error & { code: string });
  if (planned instanceof Error) return planned.code;
  const plan = JSON.parse(JSON.stringify(planned)) as RestorePlan;
  const before = byPath(await listing(target));
  const result = await executeRestore(repo, plan).catch((e) => {
    throw new Error(`${label}: the plan succeeded, the run failed: ${e.message}`);
  });
  const after = byPath(await listing(target));
  expectRunMatchesPlan(plan, before, after, label);
  const root = plan.items.find((i) => i.path === '');
  if (root && root.action !== 'skip-existing')
    expect(await targetItself(target), `${label}: the target itself`).toEqual({
      ...snapshotEntry(plan, root),
      path: '',
    });
  expect(result, label).toMatchObject({ written: plan.toWrite, mtimeOnly: plan.mtimeOnly, skipped: plan.skipped });
  expect(await readdir(parent), label).toEqual(['target']);
  for (const item of plan.items) actionsSeen.add(item.action);
  return 'ran';
}

const actionsSeen = new Set<string>();

interface Case {
  sources: string[] | undefined;
  include: string[] | undefined;
  overwrite: OverwritePolicy | undefined;
  state: (typeof TARGET_STATES)[number];
}

describe('a dry run’s plan is what the real run does', () => {
  const cases: Case[] = SOURCE_CHOICES.flatMap((sources) =>
    INCLUDES.flatMap((include) =>
      POLICIES.flatMap((overwrite) => TARGET_STATES.map((state) => ({ sources, include, overwrite, state }))),
    ),
  );

  // 144 restores with their fsyncs take minutes on a loaded machine; a timed-out test's workers would race the cleanup.
  it(`for ${cases.length} combinations of sources, include globs, overwrite policies and target states`, async () => {
    // Several at a time: each run's cost is mostly the lock file's fsyncs,
    // and the cases share nothing but the repository (shared locks).
    const outcomes: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < cases.length; n = next++) outcomes[n] = await planAndRun(n, cases[n]!);
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    // Refused at planning only: a non-empty target without a policy (12), and `**/*.log` in config alone (11 more).
    expect(counts).toEqual({ ran: 121, RESTORE_TARGET_NOT_EMPTY: 12, RESTORE_NOTHING_SELECTED: 11 });
    expect([...actionsSeen].sort()).toEqual([...PLAN_ACTIONS].sort());
  }, 300_000);
});
