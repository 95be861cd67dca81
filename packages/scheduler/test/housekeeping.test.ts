import { parseConfigText } from '@drkit/config';
import { Notifier } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';
import { tempDir } from '@drkit/test-support';
import { expect, it } from 'vitest';
import { FakeClock } from '../../notify/test/support/fake-clock.js';
import { Daemon, type RunRecord, RunHistory, runKey } from '../src/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Waits (on I/O turns, not on time) until the condition holds. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}

it(
  'the daemon prunes runs older than scheduler.history ' + '(90d) and sends report reminders, hourly, on a fake clock',
  async () => {
    const { dir, cleanup } = await tempDir();
    const store = new FolderStateStore(dir);
    const t0 = Date.parse('2026-12-20T10:30:00Z');
    const clock = new FakeClock(t0 - 50 * HOUR);
    // A P1 resolved 47.5 h before the daemon starts: its report is due half an hour after.
    const notifier = new Notifier({ store, clock, log: () => {} });
    const { incident } = await notifier.open({ title: 'Database down', severity: 'P1', by: 'ana' });
    clock.set(t0 - 47.5 * HOUR);
    await notifier.resolve(incident!.id, { by: 'ana' });

    const history = new RunHistory(store);
    const seed = async (job: string, slot: number, kind: RunRecord['kind'] = 'scheduled') => {
      const iso = new Date(slot).toISOString();
      await history.claim(
        {
          id: `r-${job}-${slot}`,
          job,
          slot: iso,
          kind,
          result: 'success',
          holder: 'test',
          startedAt: iso,
          endedAt: iso,
        },
        slot,
      );
      return runKey(job, slot, kind);
    };
    const old = [
      await seed('hourly', t0 - 100 * DAY),
      await seed('hourly', t0 - 95 * DAY),
      await seed('hourly', t0 - 200 * DAY, 'manual'),
    ];
    const nextHour = await seed('hourly', t0 - 90 * DAY + HOUR / 2);
    const recent = await seed('hourly', t0 - 10 * DAY);
    // A job's newest run stays however old: catch-up counts from it.
    const onlyVerify = await seed('verify-monthly', t0 - 120 * DAY);

    clock.set(t0);
    const config = parseConfigText(
      [
        'sources: [{ name: data, type: files, path: . }]',
        'schedule:',
        '  timezone: UTC',
        '  jobs:',
        '    - { name: hourly, cron: "0 * * * *", run: backup, catch_up: false }',
        '    - { name: verify-monthly, cron: "0 4 1 * *", run: verify, catch_up: false }',
        'scheduler: { listen: "127.0.0.1:0" }',
      ].join('\n'),
      'drkit.config.yaml',
      {},
    );
    const daemon = new Daemon({
      config,
      store,
      clock,
      drkit: { command: ['false'] },
      executor: async () => ({ result: 'success' }),
      listSnapshots: async () => [],
    });
    const keys = async () => (await history.list()).map((r) => r.key).sort();
    const reminders = async () =>
      (await notifier.list()).filter((i) => i.title === 'Incident report due: Database down');
    try {
      await daemon.start();
      // The first pass at start-up: older than 90 days goes, except the verify job's only run.
      await until(async () => !(await keys()).some((key) => old.includes(key)));
      expect(await keys()).toEqual([nextHour, recent, onlyVerify].sort());
      expect(await reminders()).toEqual([]);

      // An hour later (the hourly slot runs too): the run now past 90 days goes, and the report is due. The
      // slot's run and the housekeeping pass wake together and finish in either order: both are waited for.
      clock.set(t0 + HOUR);
      const slots = async () => (await history.list()).map((r) => r.record.slot);
      await until(
        async () =>
          !(await keys()).includes(nextHour) &&
          (await slots()).includes('2026-12-20T11:00:00.000Z') &&
          (await reminders()).length === 1,
      );
      expect(await slots()).toEqual([
        new Date(t0 - 120 * DAY).toISOString(),
        new Date(t0 - 10 * DAY).toISOString(),
        '2026-12-20T11:00:00.000Z',
      ]);
      expect((await reminders())[0]).toMatchObject({ severity: 'P3', status: 'investigating' });
    } finally {
      await daemon.stop(0);
      await store.close();
      await cleanup();
    }
  },
);
