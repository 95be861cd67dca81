// A reporter for crash.test.ts: reports one event with dedup key `rpo` to the state folder and
// prints what happened. Usage: node report.mjs STATE_DIR
import { Notifier } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';

const notifier = new Notifier({ store: new FolderStateStore(process.argv[2]), log: () => {} });
const { action, incident } = await notifier.report({
  by: 'scheduler',
  severity: 'P2',
  title: 'RPO exceeded',
  message: 'late again',
  dedupKey: 'rpo',
});
process.stdout.write(`${JSON.stringify({ action, id: incident?.id })}\n`);
