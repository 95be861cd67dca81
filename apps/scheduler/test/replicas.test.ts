import { type RunningEtcd, type RunningRedis, startEtcd, startRedis } from '@drkit/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRKIT_MAIN, eventually, type RunningDaemon, run, runs, startDaemon, workspace } from './daemon.js';
import type { RunRecord } from '@drkit/scheduler';

// Two real daemons over one real Redis (the state store), their job leases in that Redis or in a
// real etcd, a backup every second.
let redis: RunningRedis;
let etcd: RunningEtcd;
const daemons: RunningDaemon[] = [];
const starting: Promise<unknown>[] = [];
beforeAll(async () => {
  redis = await startRedis();
  etcd = await startEtcd();
});
afterAll(async () => {
  await Promise.all(starting);
  for (const d of daemons)
    if (d.child.exitCode === null && d.child.signalCode === null) process.kill(-d.pid, 'SIGKILL');
  await Promise.all(daemons.map((d) => d.exited));
  await redis?.stop();
  await etcd?.stop();
});

/** Starts a daemon on `config`; afterAll stops it, even when a test failed before awaiting it. */
function replica(config: string, env: Record<string, string> = {}): Promise<RunningDaemon> {
  const started = startDaemon(['--config', config], env).then((d) => {
    daemons.push(d);
    return d;
  });
  starting.push(started.catch(() => {}));
  return started;
}

/** No two runs of the job overlap in time, whichever daemon ran them. */
function overlapping(records: RunRecord[]): [RunRecord, RunRecord][] {
  const ran = records
    .filter((r) => r.result !== 'skipped' && r.startedAt)
    .sort((a, b) => a.startedAt!.localeCompare(b.startedAt!));
  const out: [RunRecord, RunRecord][] = [];
  for (let i = 1; i < ran.length; i++)
    if (ran[i - 1]!.endedAt === undefined || ran[i]!.startedAt! < ran[i - 1]!.endedAt!)
      out.push([ran[i - 1]!, ran[i]!]);
  return out;
}

/**
 * Two daemons run the job every second for `seconds`: each slot has one record, runs never overlap,
 * both took part, every success is one snapshot; then a third daemon, whose backups hang after their
 * first source, takes a run and is killed with its drkit child (kill -9 of the group): after the
 * lease's TTL one of the others marks that run lost and they run the next slots, and the repository
 * verifies (no half snapshot).
 */
async function twoDaemons(lease: string, seconds: number): Promise<void> {
  await redis.client().flushall();
  const ws = await workspace(
    `schedule:
  timezone: UTC
  jobs:
    - { name: every-second, cron: "* * * * * *", run: backup, catch_up: false }
scheduler: { lease: ${lease} }`,
    { state: redis.url },
  );
  try {
    const [a, b] = await Promise.all([replica(ws.config), replica(ws.config)]);
    const t0 = Date.now();
    await eventually(
      `${seconds} s of slots`,
      async () => (Date.now() - t0 >= seconds * 1000 ? true : undefined),
      (seconds + 10) * 1000,
    );
    // The kill below needs a run that stays mid-backup until it: a third daemon whose backups hang
    // after their first source (a failpoint; the daemon keeps renewing the lease meanwhile). It
    // starts while these slots are checked, which hold whether or not it has taken one yet.
    const third = replica(ws.config, { DRKIT_FAILPOINTS: 'backup.after-source=hang' });
    const records = await runs(ws.state, 'every-second');
    // One record per slot (count them: the store's key is the slot), never two runs at once.
    const slots = records.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
    // Most seconds have one (a loop delayed past several slots by a loaded machine runs the newest only).
    expect(slots.length).toBeGreaterThanOrEqual(seconds / 2);
    expect(overlapping(records)).toEqual([]);
    const ran = records.filter((r) => r.result === 'success');
    expect(ran.length).toBeGreaterThanOrEqual(5);
    if (seconds >= 60) expect(new Set(ran.map((r) => r.holder)).size).toBe(2);
    // Every successful run made its own snapshot, and the repository holds exactly those. The daemons
    // keep running: a snapshot listed here may be a run that records its success a moment later.
    const listed = (
      JSON.parse((await run(DRKIT_MAIN, ['snapshots', '--json', '--config', ws.config])).stdout) as { id: string }[]
    ).map((s) => s.id);
    expect(listed).toEqual(expect.arrayContaining(ran.map((r) => r.snapshotId)));
    const recorded = await eventually('every listed snapshot recorded by a successful run', async () => {
      const ids = (await runs(ws.state, 'every-second')).filter((r) => r.result === 'success').map((r) => r.snapshotId);
      return listed.every((id) => ids.includes(id)) ? ids : undefined;
    });
    expect(new Set(recorded).size).toBe(recorded.length);

    // kill -9 the third daemon, with its drkit child, once one of its runs hangs mid-backup.
    const c = await third;
    const hanging = await eventually(
      'a backup of the third daemon hanging after its first source',
      async () => c.lines.find((l) => /failpoint backup\.after-source: hanging/.test(String(l.msg))),
      60_000,
    );
    const victim = (await runs(ws.state, 'every-second')).find((r) => r.id === hanging.runId)!;
    expect(victim.result).toBe('running');
    process.kill(-c.pid, 'SIGKILL');
    const after = await eventually('two runs by the others after the kill', async () => {
      const later = (await runs(ws.state, 'every-second')).filter(
        (r) => r.slot > victim.slot && r.result === 'success',
      );
      return later.length >= 2 ? later : undefined;
    });
    const survivors = [String(a.pid), String(b.pid)];
    expect(after.every((r) => survivors.includes(r.holder.split(':')[1]!))).toBe(true);
    const lost = (await runs(ws.state, 'every-second')).find((r) => r.id === victim.id)!;
    expect(lost.result).toBe('lost');
    expect(lost.reason).toContain(`its daemon ${victim.holder} stopped renewing the job's lease`);
    expect(overlapping(await runs(ws.state, 'every-second'))).toEqual([]);
    for (const d of [a, b]) d.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    // The killed backup had stored its first source's archive and index (the failpoint's place) but
    // no snapshot: the repository still verifies.
    const verify = await run(DRKIT_MAIN, ['verify', 'all', '--config', ws.config]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  } finally {
    await ws.cleanup();
  }
}

describe('two daemons', () => {
  it('leases in Redis: a job every second for 60 s runs each slot exactly once across both; kill -9 of a third ' +
    'mid-backup: the others run the next slots, no half snapshot', async () => {
    await twoDaemons(`{ backend: redis, url: "${redis.url}", ttl: 3s }`, 60);
  }, 150_000);

  it('leases in etcd: the same for 10 s, and the kill -9', async () => {
    await twoDaemons(`{ backend: etcd, endpoints: ["${etcd.endpoint}"], ttl: 3s }`, 10);
  }, 120_000);
});
