import { type RunningRedis, startRedis } from '@drkit/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRKIT_MAIN, eventually, type RunningDaemon, run, runs, startDaemon, workspace } from './daemon.js';
import type { RunRecord } from '@drkit/scheduler';

// Two real daemons over one real Redis (state and leases), a backup every second.
let redis: RunningRedis;
const daemons: RunningDaemon[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const d of daemons) if (d.child.exitCode === null && d.child.signalCode === null) process.kill(-d.pid, 'SIGKILL');
  await Promise.all(daemons.map((d) => d.exited));
  await redis?.stop();
});

/** No two runs of the job overlap in time, whichever daemon ran them. */
function overlapping(records: RunRecord[]): [RunRecord, RunRecord][] {
  const ran = records.filter((r) => r.result !== 'skipped' && r.startedAt).sort((a, b) => a.startedAt!.localeCompare(b.startedAt!));
  const out: [RunRecord, RunRecord][] = [];
  for (let i = 1; i < ran.length; i++) if (ran[i - 1]!.endedAt === undefined || ran[i]!.startedAt! < ran[i - 1]!.endedAt!) out.push([ran[i - 1]!, ran[i]!]);
  return out;
}

describe('two daemons over one Redis', () => {
  it('each slot of a job every second runs exactly once across both for 60 s; kill -9 of one mid-backup: the other runs the next slots, no half snapshot', async () => {
    const ws = await workspace(
      `schedule:
  timezone: UTC
  jobs:
    - { name: every-second, cron: "* * * * * *", run: backup, catch_up: false }
scheduler: { lease_ttl: 3s }`,
      { state: redis.url },
    );
    try {
      const a = await startDaemon(['--config', ws.config]);
      const b = await startDaemon(['--config', ws.config]);
      daemons.push(a, b);
      const t0 = Date.now();
      await eventually('60 s of slots', async () => (Date.now() - t0 >= 60_000 ? true : undefined), 70_000);
      const records = await runs(ws.state, 'every-second');
      // One record per slot (the store's key is the slot), every second of the window covered by one.
      const slots = records.map((r) => r.slot);
      expect(new Set(slots).size).toBe(slots.length);
      const ran = records.filter((r) => r.result === 'success');
      expect(ran.length).toBeGreaterThanOrEqual(10);
      // Both daemons took part, never two runs at once.
      expect(new Set(ran.map((r) => r.holder)).size).toBe(2);
      expect(overlapping(records)).toEqual([]);
      // Every successful run made its own snapshot, and the repository holds exactly those.
      const snapshots = JSON.parse((await run(DRKIT_MAIN, ['snapshots', '--json', '--config', ws.config])).stdout) as { id: string }[];
      expect(snapshots.map((s) => s.id).sort()).toEqual(ran.map((r) => r.snapshotId).sort());

      // kill -9 the daemon running the job (and its drkit child) mid-backup.
      const victim = await eventually('a run in progress', async () => {
        const running = (await runs(ws.state, 'every-second')).find((r) => r.result === 'running');
        return running && [a, b].find((d) => running.holder.split(':')[1] === String(d.pid)) ? running : undefined;
      });
      const killed = [a, b].find((d) => victim.holder.split(':')[1] === String(d.pid))!;
      const survivor = killed === a ? b : a;
      process.kill(-killed.pid, 'SIGKILL');
      const after = await eventually('two runs by the survivor after the kill', async () => {
        const later = (await runs(ws.state, 'every-second')).filter((r) => r.slot > victim.slot && r.result === 'success');
        return later.length >= 2 ? later : undefined;
      });
      expect(after.every((r) => r.holder.split(':')[1] === String(survivor.pid))).toBe(true);
      const lost = (await runs(ws.state, 'every-second')).find((r) => r.id === victim.id)!;
      expect(lost.result).toBe('lost');
      expect(lost.reason).toMatch(/stopped renewing the job's lease/);
      survivor.child.kill('SIGTERM');
      expect((await survivor.exited).code).toBe(0);
      const verify = await run(DRKIT_MAIN, ['verify', 'all', '--config', ws.config]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    } finally {
      await ws.cleanup();
    }
  }, 150_000);
});
