import { appendFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Notifier } from '@drkit/notify';
import { Repository } from '@drkit/repository';
import { FolderStateStore } from '@drkit/state';
import { LocalStore } from '@drkit/storage';
import {
  BINARY_KEY,
  makeSampleTree,
  seedRedis,
  snapshotRedis,
  snapshotTree,
  startRedis,
  tempDir,
} from '@drkit/test-support';
import { Redis } from 'ioredis';
import { drillHistory, runDrill, saveDrill } from '../src/index.js';

let dir: string;
let cleanup: () => Promise<void>;
let repo: Repository;
let notifier: Notifier;
const HOUR = 3_600_000;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-runbooks-'));
  await makeSampleTree(path.join(dir, 'tree'));
  repo = await Repository.init(new LocalStore(path.join(dir, 'repo')));
  notifier = new Notifier({ store: new FolderStateStore(path.join(dir, 'state')) });
});
afterEach(async () => {
  await notifier.store.close();
  await cleanup();
});

const drill = async (extra: Partial<Parameters<typeof runDrill>[0]> = {}) =>
  runDrill({
    repo,
    snapshot: await snapshotTree(repo, path.join(dir, 'tree'), 'data'),
    objectives: { rpoMs: HOUR, rtoMs: 4 * HOUR },
    sandboxParent: path.join(dir, 'sandboxes'),
    report: (event) => notifier.report(event),
    ...extra,
  });

describe('runDrill', () => {
  it('passes a fresh snapshot, and the history keeps its RTO and RPO', async () => {
    const report = await drill();
    expect(report).toMatchObject({ passed: true, problems: [], objectives: { rto_met: true, rpo_met: true } });
    // Every phase up to the data being verified is part of the RTO.
    const shares = report.phases.reduce((sum, p) => sum + (p.share ?? 0), 0);
    expect(shares).toBeGreaterThan(0.5);
    expect(shares).toBeLessThanOrEqual(1.0001);
    await saveDrill(notifier.store, report);
    expect((await drillHistory(notifier.store)).map((d) => d.id)).toEqual([report.id]);
  });

  it('a snapshot older than the RPO objective fails the drill with a P2 incident', async () => {
    // Two hours later by the drill's clock: the snapshot is 2 h old, the objective 1 h.
    const report = await drill({ now: () => Date.now() + 2 * HOUR });
    expect(report.passed).toBe(false);
    expect(report.objectives).toMatchObject({ rpo_met: false, rto_met: true });
    expect(report.rpo_seconds).toBeGreaterThan(7_000);
    expect(report.phases.every((p) => p.ok)).toBe(true);
    const incident = await notifier.get(report.incident!);
    expect(incident).toMatchObject({
      severity: 'P2',
      title: 'Recovery drill failed: RPO objective missed',
      status: 'investigating',
    });
  });

  it('reads the restored files back: one changed after the restore is named', async () => {
    const report = await drill({
      onPhase: async (phase) => {
        if (phase !== 'verify') return;
        const [sandbox] = await readdir(path.join(dir, 'sandboxes'));
        await appendFile(
          path.join(dir, 'sandboxes', sandbox!, 'files', 'data', 'data', 'feedback.jsonl'),
          'not json\n',
        );
      },
    });
    expect(report.passed).toBe(false);
    expect(report.problems.map((p) => p.path)).toEqual(['data/feedback.jsonl']);
    expect(report.problems[0]!.message).toMatch(/^data\/feedback\.jsonl: \d+ bytes, the snapshot says 18$/);
  });

  it(
    'reads every Redis key back from the scratch server: one gone after the restore is named, and the server ' +
      'is stopped',
    async () => {
      const live = await startRedis();
      try {
        await seedRedis(live.client());
        const snapshot = await snapshotRedis(repo, live.client(), [0, 1, 3], { source: 'cache' });
        let scratch = '';
        const report = await runDrill({
          repo,
          snapshot,
          objectives: { rpoMs: HOUR, rtoMs: 4 * HOUR },
          sandboxParent: path.join(dir, 'sandboxes'),
          onPhase: async (phase) => {
            if (phase !== 'verify') return;
            // The scratch server the drill started, as its drill.env says.
            const [sandbox] = await readdir(path.join(dir, 'sandboxes'));
            scratch = /^DRKIT_DRILL_REDIS_URL=(.*)$/m.exec(
              await readFile(path.join(dir, 'sandboxes', sandbox!, 'drill.env'), 'utf8'),
            )![1]!;
            const c = new Redis(scratch, { db: 1 });
            await c.del('token:b');
            await c.select(0);
            await c.del(BINARY_KEY);
            c.disconnect();
          },
        });
        expect(report.passed).toBe(false);
        expect(report.problems.map((p) => p.message).sort()).toEqual([
          'key "token:b" of db 1 is missing from the scratch Redis',
          'key 0x00ff0d0a807f20c3 of db 0 is missing from the scratch Redis',
        ]);
        const cache = report.sources.find((s) => s.name === 'cache')!;
        expect(cache.type === 'redis' && cache.dbs.map((d) => d.db)).toEqual([0, 1, 3]);
        const gone = new Redis(scratch, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        gone.on('error', () => {});
        await expect(gone.connect()).rejects.toThrow();
      } finally {
        await live.stop();
      }
    },
  );
});
