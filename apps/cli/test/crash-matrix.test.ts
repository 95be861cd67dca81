import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, sourcesFromPaths } from '@drkit/backup-core';
import { FAILPOINT_ACTIONS, FAILPOINTS, type Failpoint, type FailpointAction } from '@drkit/errors';
import { verifySnapshot } from '@drkit/integrity-verifier';
import { Repository } from '@drkit/repository';
import { LocalStore } from '@drkit/storage';
import {
  describeTree,
  makeSampleTree,
  type RedisKeyState,
  redisContents,
  type RunningRedis,
  sameRedisContents,
  seedRedis,
  startRedis,
  tempDir,
} from '@drkit/test-support';
import { drkit } from './cli.js';

// Every failpoint × every action, each on a fresh copy of one prepared repository. After the
// crash: every listed snapshot verifies (nothing half-visible). Then the same command runs again
// without failpoints: it succeeds and leaves no temp file, lock, staging folder or unlisted data.

interface Case {
  dir: string;
  repo: string;
  dest: string;
  target: string;
}

interface Scenario {
  args: (c: Case) => string[];
  /** What the finished job must look like, beyond the repository checks. */
  check?: (c: Case) => Promise<void>;
  /** forget without --prune leaves the data of what it forgot, by design. */
  keepsData?: boolean;
}

const DBS = [0, 1, 3];
let base: string;
let cleanup: () => Promise<void>;
let prepared: string;
let trees: { a: string; b: string };
let ids: { oldFull: string; incremental: string; redis: string; full: string };
let server: RunningRedis;
let expectedRedis: RedisKeyState[];

const backup: Scenario = {
  args: (c) => ['backup', trees.a, trees.b, '--repo', c.repo],
};
const forget: Scenario = { args: (c) => ['forget', '--keep-last', '1', '--repo', c.repo], keepsData: true };
const prune: Scenario = { args: (c) => ['forget', '--keep-last', '1', '--prune', '--repo', c.repo] };
const scenarios: Record<string, Scenario> = {
  backup,
  commit: backup,
  lock: backup,
  forget,
  prune,
  store: prune,
  copy: {
    args: (c) => ['copy', 'all', '--to', c.dest, '--repo', c.repo],
    check: async (c) => {
      expect(await listed(c.dest)).toEqual(await listed(c.repo));
      await expectSound(c.dest);
    },
  },
  tag: {
    args: (c) => ['tag', ids.full, '--add', 'checked', '--repo', c.repo],
    check: async (c) => expect((await open(c.repo).then((r) => r.resolveSnapshot(ids.full))).tags).toContain('checked'),
  },
  restore: {
    args: (c) => ['restore', ids.full, '--target', c.target, '--overwrite', 'if-changed', '--repo', c.repo],
    check: async (c) => {
      for (const name of ['a', 'b'] as const)
        expect(await describeTree(path.join(c.target, name))).toEqual(await describeTree(trees[name]));
      expect(await readdir(c.target)).toContain('keep.txt');
    },
  },
  'restore.redis': {
    args: (c) => [
      'restore',
      ids.redis,
      '--source',
      'cache',
      '--redis',
      server.url,
      '--mode',
      'replace',
      '--yes',
      '--repo',
      c.repo,
    ],
    check: async () => expect(sameRedisContents(await redisContents(server.client(), DBS), expectedRedis)).toEqual([]),
  },
};

// A point runs under the command its longest name prefix names; a point with a new prefix fails until it gets one.
function scenarioOf(point: Failpoint): Scenario {
  const parts = point.split('.');
  for (let n = parts.length - 1; n > 0; n--) {
    const s = scenarios[parts.slice(0, n).join('.')];
    if (s) return s;
  }
  throw new Error(`no scenario reaches failpoint ${point}: add its prefix to the scenarios`);
}

// Where the first hit is not where it matters: forget --prune removes two snapshots' metadata,
// then the fourth blob it deletes empties the first data folder.
const HIT: Partial<Record<Failpoint, number>> = { 'store.before-remove-folder': 6 };
// A lock refresh that fails is tried again at the next one: the command goes on.
const ABSORBS_THROW = new Set<Failpoint>(['lock.refresh']);

const open = (repo: string) => Repository.open(new LocalStore(repo));
const listed = async (repo: string) => (await (await open(repo)).listSnapshots()).map((s) => s.id);
const entries = (dir: string) => readdir(dir).catch(() => [] as string[]);

/** Every listed snapshot verifies, without taking a lock (that would clean up what the next run must). */
async function expectSound(repo: string): Promise<void> {
  const r = await open(repo);
  const damaged: string[] = [];
  for (const s of await r.listSnapshots({ onDamaged: (d) => damaged.push(d.id) })) {
    const report = await verifySnapshot(r, s);
    expect(report.ok, JSON.stringify(report.sources.flatMap((x) => x.problems))).toBe(true);
  }
  expect(damaged).toEqual([]);
}

/** No temp file, lock, empty or unlisted data folder in the repository, no staging folder beside the target. */
async function expectClean(c: Case, scenario: Scenario): Promise<void> {
  for (const repo of [c.repo, c.dest]) {
    expect((await entries(path.join(repo, '.tmp'))).filter((n) => n.endsWith('.part'))).toEqual([]);
    expect(await entries(path.join(repo, 'locks'))).toEqual([]);
    const known = new Set(await listed(repo));
    const unlisted = (await entries(path.join(repo, 'data'))).filter((id) => !known.has(id));
    if (!scenario.keepsData) expect(unlisted).toEqual([]);
  }
  expect((await entries(c.dir)).filter((n) => n.startsWith('.drkit-restore-'))).toEqual([]);
}

beforeAll(async () => {
  ({ dir: base, cleanup } = await tempDir('drkit-crash-'));
  trees = { a: path.join(base, 'src', 'a'), b: path.join(base, 'src', 'b') };
  await makeSampleTree(trees.a);
  await mkdir(trees.b, { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(path.join(trees.b, `log-${i}.jsonl`), `{"i":${i}}\n`);

  server = await startRedis();
  const c = server.client();
  await seedRedis(c);
  // More than one batch of RESTOREs (512 keys), so a stop can fall between two.
  const p = c.pipeline();
  for (let i = 0; i < 700; i++) p.set(`bulk:${i}`, `value-${i}`);
  await p.exec();
  expectedRedis = await redisContents(c, DBS);

  prepared = path.join(base, 'prepared');
  const repo = await Repository.init(new LocalStore(path.join(prepared, 'repo')));
  await Repository.init(new LocalStore(path.join(prepared, 'dest')));
  await mkdir(path.join(prepared, 'target'));
  await writeFile(path.join(prepared, 'target', 'keep.txt'), 'not in the snapshot\n');
  // Hours old, so that prune may delete what forget drops (it keeps data younger than 30 minutes).
  const at = (hoursAgo: number) => ({ now: () => new Date(Date.now() - hoursAgo * 3_600_000) });
  const files = sourcesFromPaths([trees.a, trees.b]);
  const snap = async (hoursAgo: number, extra: Partial<Parameters<typeof runBackup>[1]> = {}) =>
    (await runBackup(repo, { sources: files, toolVersion: 'test', clock: at(hoursAgo), ...extra })).snapshot.id;
  const oldFull = await snap(5);
  await writeFile(path.join(trees.b, 'log-0.jsonl'), '{"i":0,"changed":true}\n');
  const incremental = await snap(4);
  const redis = await snap(3, { sources: [{ name: 'cache', type: 'redis', connection: { url: server.url } }] });
  const full = await snap(2, { full: true });
  ids = { oldFull, incremental, redis, full };
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await cleanup?.();
});

// Notify's and the state store's points are killed at by packages/notify/test/crash.test.ts, with a sending process.
const POINTS = (Object.keys(FAILPOINTS) as Failpoint[]).filter(
  (p) => !p.startsWith('notify.') && !p.startsWith('state.'),
);

describe(`crash matrix: ${POINTS.length} failpoints × ${FAILPOINT_ACTIONS.join(', ')}`, () => {
  let n = 0;
  for (const point of POINTS)
    for (const action of FAILPOINT_ACTIONS as readonly FailpointAction[]) {
      const caseNo = n++;
      it(`${point} × ${action}: nothing half-visible, verify passes, the next run succeeds and cleans up`, async () => {
        const scenario = scenarioOf(point);
        const dir = path.join(base, `case-${caseNo}`);
        await cp(prepared, dir, { recursive: true });
        const c: Case = {
          dir,
          repo: path.join(dir, 'repo'),
          dest: path.join(dir, 'dest'),
          target: path.join(dir, 'target'),
        };
        const sig = caseNo % 2 ? 'SIGINT' : 'SIGTERM';
        const hit = HIT[point] ?? 1;

        const crashed = await drkit(scenario.args(c), {
          env: { DRKIT_FAILPOINTS: `${point}:${hit}=${action}` },
          // The point says it hangs once it is there: the signal cannot come too early.
          onStderrLine: (line, pid) => {
            if (line.startsWith(`drkit: failpoint ${point}: hanging`)) process.kill(pid, sig);
          },
        });
        const said = `${point}=${action}\n${crashed.stderr}`;
        expect(crashed.stderr, said).toContain(`drkit: failpoint ${point}: `);
        if (action === 'kill') expect(crashed.signal, said).toBe('SIGKILL');
        if (action === 'throw') expect(crashed.code, said).toBe(ABSORBS_THROW.has(point) ? 0 : 1);
        if (action === 'hang') {
          expect(crashed.code, said).toBe(sig === 'SIGINT' ? 130 : 143);
          // One line at the end: the state it left and the command that finishes, or that it had finished.
          expect(crashed.stderr.trimEnd().split('\n').at(-1), said).toMatch(
            new RegExp(
              `^drkit: (interrupted by ${sig} \\[\\w+\\]: .+ To finish: drkit |${sig} arrived as the command finished)`,
            ),
          );
        }
        await expectSound(c.repo);
        await expectSound(c.dest);

        const next = await drkit(scenario.args(c));
        expect(next.code, `${said}\nnext run:\n${next.stderr}`).toBe(0);
        await expectSound(c.repo);
        await expectClean(c, scenario);
        await scenario.check?.(c);
      });
    }
});
