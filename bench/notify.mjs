// The notify bench steps' helpers.
//
//   node bench/notify.mjs serve PORT LOG        a webhook receiver on 127.0.0.1:PORT that answers
//                                               200 and appends each request's arrival (ms) to LOG
//   node bench/notify.mjs throughput N PORT STORE
//                                               N messages through the durable outbox (STORE: a
//                                               folder, emptied first, or a redis:// state store) to
//                                               that receiver: written, then sent; exits 1 unless
//                                               all N were delivered
//
// and, for bench/steps.mjs, the receiver's lifecycle (started on first use on a fixed port,
// stopped when the harness exits).
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
export const HOOK_PORT = 50_000 + (process.pid % 10_000);
const pidFile = path.join(os.tmpdir(), `drkit-bench-hook-${HOOK_PORT}.pid`);

/** Bash: start the receiver unless ours runs; untimed. */
export function hookUp(c, log) {
  const pid = c.q(pidFile);
  return (
    `{ [ -f ${pid} ] && kill -0 "$(cat ${pid})" 2>/dev/null || { ( ${c.q(c.node)} ${c.q(HERE)} ` +
    `serve ${HOOK_PORT} ${c.q(log)} >/dev/null 2>&1 & echo $! > ${pid} ) && ` +
    `for i in $(seq 100); do ${c.q(c.node)} -e "fetch('http://127.0.0.1:${HOOK_PORT}/ping',{method:'POST'}` +
    `).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && break; sleep 0.1; done; }; }`
  );
}

export function hookStop() {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
  } catch {}
  rmSync(pidFile, { force: true });
}

/** A config whose P1 route is one webhook to the receiver, the state in `state`. */
export const hookConfig = (state) =>
  `state: ${JSON.stringify(state)}\nsources: [{ name: none, type: files, path: /nonexistent }]\nnotify:\n` +
  `  channels:\n    hook: { type: webhook, url: "http://127.0.0.1:${HOOK_PORT}/p1" }\n  routes:\n` +
  `    P1: { channels: [hook], within: 0s }\n`;

/** Milliseconds from the start mark to the first P1 request that arrived after it, if any. */
export function openToReceipt(startFile, log) {
  const start = Number(readFileSync(startFile, 'utf8').trim());
  const arrivals = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(' /p1'))
    .map((l) => Number(l.split(' ')[0]))
    .filter((t) => t >= start);
  return arrivals.length ? Math.min(...arrivals) - start : undefined;
}

async function serve(port, log) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url !== '/ping') appendFileSync(log, `${Date.now()} ${req.url}\n`);
      res.end('ok');
    });
  });
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function throughput(n, port, location) {
  const root = path.resolve(path.dirname(HERE), '..');
  const { Notifier, createChannels } = await import(path.join(root, 'packages/notify/dist/index.js'));
  const { openStateStore } = await import(path.join(root, 'packages/state/dist/index.js'));
  // Either store was emptied by the step's prepare (untimed); by hand, a folder is emptied here.
  if (!/^rediss?:/.test(location)) rmSync(location, { recursive: true, force: true });
  const store = await openStateStore(location);
  const channels = createChannels({ hook: { type: 'webhook', url: `http://127.0.0.1:${port}/bulk` } });
  // The defaults drkit ships with (the CLI and the daemon set no concurrency of their own).
  const notifier = new Notifier({ store, channels });
  const now = Date.now();
  const records = Array.from({ length: n }, (_, i) =>
    notifier.outbox.record({
      id: `bench.${i}.hook`,
      channel: 'hook',
      notification: {
        idempotencyKey: `bench.${i}`,
        kind: 'test',
        severity: 'P4',
        title: `bench ${i}`,
        text: 'outbox throughput',
        incidents: [],
      },
      dueBy: now,
      expireAfterMs: 3_600_000,
      fallback: [],
    }),
  );
  await notifier.outbox.enqueue(records);
  const report = await notifier.outbox.deliver();
  if (report.delivered !== n) {
    console.error(`delivered ${report.delivered} of ${n}: ${JSON.stringify(report)}`);
    process.exit(1);
  }
  await store.close();
}

if (process.argv[1] === HERE) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'serve') await serve(Number(args[0]), args[1]);
  else if (mode === 'throughput') await throughput(Number(args[0]), Number(args[1]), args[2]);
  else {
    console.error('usage: node bench/notify.mjs serve PORT LOG | throughput N PORT DIR|redis://…');
    process.exit(2);
  }
}
