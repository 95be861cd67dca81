import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { startDaemon, workspace } from './daemon.js';

// The CLI's module logger (a --import preload): every file module a process loads, one URL a line.
const LOGGER = fileURLToPath(new URL('../../cli/test/fixtures/log-modules.mjs', import.meta.url));
const DIST = new URL('../dist/', import.meta.url).href;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Idle RSS on Node 22 (docs/BENCHMARKS.md): node_modules loaded module by module kept ~10 MiB more
// than one bundle, and nodemailer ~2 MiB more while no mail is sent.
it('the daemon starts from its bundle alone, and an email channel does not load nodemailer until a mail', async () => {
  const ws = await workspace(
    'notify:\n  channels:\n    mail: { type: email, smtp_url: "smtp://127.0.0.1:9", from: drkit@example.com, ' +
      'to: [ops@example.com] }',
  );
  cleanups.push(ws.cleanup);
  const log = path.join(ws.dir, 'modules.log');
  await writeFile(log, '');
  const daemon = await startDaemon(['--config', ws.config], {
    NODE_OPTIONS: `--import=${LOGGER}`,
    DRKIT_TEST_MODULE_LOG: log,
  });
  cleanups.push(async () => {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });
  // Its children (the drkit CLI reading the snapshot list) log here too: keep the daemon's own.
  const loaded = (await readFile(log, 'utf8')).split('\n').filter((url) => url && !url.includes('/apps/cli/'));
  expect(loaded.filter((url) => !url.startsWith(DIST))).toEqual([]);
  // A string of nodemailer's own (its SES transport), wherever the bundler put it.
  const sources = await Promise.all(loaded.map((url) => readFile(new URL(url), 'utf8')));
  expect(sources.some((source) => source.includes('Missing SES configuration'))).toBe(false);
  expect(loaded.length).toBeGreaterThan(1);
});
