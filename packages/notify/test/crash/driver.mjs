// The sending process of crash.test.ts: runs one incident's life (a P1 opened, acknowledged,
// resolved; a P3 in a digest) through the notifier, idempotently, so that running it again after
// a kill finishes the job. Usage: node driver.mjs STATE_DIR RECEIVER_URL
import { parseConfigText } from '@drkit/config';
import { createChannels, Notifier, policyFromConfig } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';

const [dir, url] = process.argv.slice(2);
const config = parseConfigText(
  `sources: [{ name: none, type: files, path: /none }]
notify:
  channels:
    hook: { type: webhook, url: "${url}/hook" }
    spare: { type: webhook, url: "${url}/spare" }
    dead: { type: webhook, url: "${url}/dead" }
  routes:
    P1: { channels: [hook, spare, dead], within: 0s }
    P3: { channels: [hook], within: 1s }
`,
  'crash.yaml',
  {},
);
const notifier = new Notifier({
  store: new FolderStateStore(dir),
  channels: createChannels(config.notify.channels),
  policy: policyFromConfig(config.notify),
  // The shortest backoff (1 s) keeps the test quick; nothing here depends on its length.
  random: () => 0,
  // One message in flight at a time: a kill at a point then has no other send half-answered.
  concurrency: 1,
  log: () => {},
});
const find = async (title) => (await notifier.list({ all: true })).find((i) => i.title === title);

const down = { by: 'crash', severity: 'P1', title: 'A', message: 'down', dedupKey: 'a' };
if (!(await find('A'))) await notifier.report(down);
let a = await find('A');
// Reported again, as a scheduler would every minute: folded into the open incident, nothing sent.
if (!a.acknowledgedAt && a.status !== 'resolved') await notifier.report(down);
await notifier.deliver();
if (!a.acknowledgedAt && a.status !== 'resolved') await notifier.acknowledge(a.id, { by: 'ana' });
if (!(await find('B')))
  await notifier.report({ by: 'crash', severity: 'P3', title: 'B', message: 'slow', dedupKey: 'b' });
await notifier.deliver();
a = await find('A');
if (a.status !== 'resolved') await notifier.resolve(a.id, { by: 'ana', message: 'fixed' });
await notifier.flush({ waitMs: 10_000 });
process.stdout.write(`${JSON.stringify({ a: a.id, status: await notifier.status() })}\n`);
