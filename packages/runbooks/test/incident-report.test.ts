import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, Notifier } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';
import { tempDir } from '@drkit/test-support';
import { remindDueReports, writeIncidentReport } from '../src/index.js';

const HOUR = 3_600_000;
let dir: string;
let cleanup: () => Promise<void>;
let t = Date.parse('2026-12-01T10:00:00Z');
const clock: Clock = {
  now: () => t,
  sleep: async (ms) => {
    t += ms;
  },
};
let notifier: Notifier;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('drkit-report-'));
  notifier = new Notifier({ store: new FolderStateStore(path.join(dir, 'state')), clock });
});
afterEach(async () => {
  await notifier.store.close();
  await cleanup();
});

describe('incident reports', () => {
  it('a resolved P2 without a report gets a reminder after 48 h, resolved when the report is written', async () => {
    const { incident } = await notifier.open({
      title: 'Database down',
      severity: 'P2',
      by: 'ana',
      message: 'primary gone',
    });
    t += HOUR;
    await notifier.update(incident!.id, { message: 'disk full on db-1', status: 'identified', by: 'ana' });
    t += HOUR;
    await notifier.resolve(incident!.id, { by: 'ana' });
    // P3s and P4s never need one; before 48 h nothing is due.
    await notifier
      .open({ title: 'Slow backups', severity: 'P3', by: 'ana' })
      .then(({ incident: p3 }) => notifier.resolve(p3!.id, { by: 'ana' }));
    expect(await remindDueReports(notifier, () => t + 47 * HOUR)).toEqual([]);
    expect(await remindDueReports(notifier, () => t + 49 * HOUR)).toEqual([incident!.id]);
    const reminder = (await notifier.list()).find((i) => i.title === 'Incident report due: Database down');
    expect(reminder).toMatchObject({ severity: 'P3', status: 'investigating' });

    const written = await writeIncidentReport(notifier, incident!.id, path.join(dir, 'reports'), {
      rtoMs: 4 * HOUR,
      now: () => t,
    });
    expect(path.basename(written.path)).toBe('2026-12-01-database-down.md');
    const text = await readFile(written.path, 'utf8');
    expect(text).toContain('- How long: 2.0 h');
    expect(text).toContain('- Noted when identified (2026-12-01T11:00:00.000Z): disk full on db-1');
    expect(text).toContain('- RTO achieved: 2.0 h (objective 4.0 h: met)');
    expect(text).toContain('- Data-loss window: no restore was recorded on this incident.');
    expect((await notifier.get(reminder!.id)).status).toBe('resolved');
    expect(await remindDueReports(notifier, () => t + 49 * HOUR)).toEqual([]);
  });
});
