import { parseConfigText } from '@drkit/config';
import { listIncidents, Notifier } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';
import { tempDir } from '@drkit/test-support';
import { expect, it } from 'vitest';
import { FakeClock } from '../../notify/test/support/fake-clock.js';
import { type JobOutcome, planFromConfig, Scheduler } from '../src/index.js';

it(
  'a failed job opens an incident with its error code and hint, a second failure updates it, the next success ' +
    'resolves it',
  async () => {
    const { dir, cleanup } = await tempDir();
    const store = new FolderStateStore(dir);
    const clock = new FakeClock(Date.parse('2026-12-06T09:59:30Z'));
    const notifier = new Notifier({ store, clock, log: () => {} });
    const config = parseConfigText(
      'sources: [{ name: data, type: files, path: . }]\nschedule: { timezone: UTC, jobs: [{ name: hourly, ' +
        'cron: "0 * * * *", run: backup }] }',
      'c.yaml',
      {},
    );
    const outcomes: JobOutcome[] = [
      {
        result: 'failed',
        exitCode: 1,
        errorCode: 'STORAGE_UNAVAILABLE',
        message: 'The repository folder /backups is not mounted.',
        hint: 'Mount it, then run drkit backup.',
      },
      {
        result: 'failed',
        exitCode: 1,
        errorCode: 'STORAGE_UNAVAILABLE',
        message: 'Still not mounted.',
        hint: 'Mount it.',
      },
      { result: 'success', exitCode: 0, snapshotId: 'snap-3' },
    ];
    const scheduler = new Scheduler({
      jobs: planFromConfig(config.schedule),
      store,
      clock,
      notifier,
      executor: async () => outcomes.shift()!,
    });
    await scheduler.start();
    const hour = (h: number) => clock.set(Date.parse(`2026-12-06T${h}:00:00Z`));
    hour(10);
    await scheduler.settled();
    const [opened] = await listIncidents(store);
    expect(opened).toMatchObject({
      severity: 'P2',
      title: 'Scheduled job hourly (drkit backup) failed',
      dedupKey: 'job-failed:hourly',
      labels: { job: 'hourly', error_code: 'STORAGE_UNAVAILABLE' },
    });
    expect(opened!.timeline[0]!.message).toBe(
      'hourly failed for slot 2026-12-06T10:00:00.000Z [STORAGE_UNAVAILABLE]: The repository folder /backups ' +
        'is not mounted. Hint: Mount it, then run drkit backup.',
    );
    hour(11);
    await scheduler.settled();
    const [updated] = await listIncidents(store);
    expect(updated!.id).toBe(opened!.id);
    expect(updated!.timeline.map((e) => e.kind)).toEqual(['opened', 'updated']);
    hour(12);
    await scheduler.settled();
    await scheduler.stop(0);
    expect(await listIncidents(store)).toEqual([]);
    const [resolved] = await listIncidents(store, { all: true });
    expect(resolved!.status).toBe('resolved');
    expect(resolved!.timeline.at(-1)!.message).toMatch(/^hourly succeeded \(run /);
    await store.close();
    await cleanup();
  },
);
