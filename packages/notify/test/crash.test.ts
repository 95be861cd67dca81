import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';
import { type Failpoint, FAILPOINTS } from '@drkit/errors';
import { Notifier } from '@drkit/notify';
import { FolderStateStore } from '@drkit/state';
import { startRecordingServer, tempDir } from '@drkit/test-support';

// kill -9 of a sending process at every notify and state failpoint, then a second run: every
// message arrives on every channel, and a message arrives twice only after a kill between a
// receiver's 2xx and the outbox recording it. The duplicates per point are printed at the end.

const DRIVER = fileURLToPath(new URL('./crash/driver.mjs', import.meta.url));
const REPORTER = fileURLToPath(new URL('./crash/report.mjs', import.meta.url));
const POINTS = (Object.keys(FAILPOINTS) as Failpoint[]).filter(
  (p) => p.startsWith('notify.') || p.startsWith('state.'),
);
/** The only point where the receiver has a message the outbox does not know it has. */
const DUPLICATES_AT: Failpoint = 'notify.outbox.after-accepted';
// Where the first hit is not the interesting one: mid-batch, mid-life, the P1's resolve.
const HIT: Partial<Record<Failpoint, number>> = {
  'state.after-temp': 5,
  'state.after-rename': 12,
  'notify.outbox.after-record': 2,
  'notify.incident.after-write': 4,
  'notify.route.after-entry': 2,
  'notify.outbox.after-accepted': 3,
};

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a script in a fresh node with DRKIT_FAILPOINTS set; `onStderr` sees what it says as it says it. */
function node(
  script: string,
  args: string[],
  failpoints?: string,
  onStderr?: (text: string, pid: number) => void,
): Promise<Run> {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, DRKIT_FAILPOINTS: failpoints },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    onStderr?.(String(d), child.pid!);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * One incident's life (see the driver), killed with SIGKILL at `point` if given, then run again to
 * the end. Returns the idempotency keys each channel accepted (2xx), and the outbox's status.
 */
async function lifeKilledAt(point?: Failpoint) {
  const { dir, cleanup } = await tempDir('drkit-crash-');
  const refused = new Set<number>();
  let spareTries = 0;
  const receiver = await startRecordingServer({
    // `dead` refuses everything for good; `spare` fails its first request (a retry, then a hold lifted).
    answer: (r) => {
      if (r.path === '/dead' || (r.path === '/spare' && spareTries++ === 0)) {
        refused.add(r.n);
        return { status: r.path === '/dead' ? 400 : 503 };
      }
      return undefined;
    },
  });
  try {
    if (point) {
      const spec = `${point}:${HIT[point] ?? 1}=kill`;
      const killed = await node(DRIVER, [dir, receiver.url], spec);
      if (killed.signal !== 'SIGKILL' || !killed.stderr.includes(`drkit: failpoint ${point}: kill`))
        throw new Error(`${spec} did not kill the driver (exit ${killed.code}, ${killed.signal}):\n${killed.stderr}`);
      // Whatever the kill interrupted, every document in the store reads back whole.
      for await (const _ of new FolderStateStore(dir).list(''));
    }
    const rerun = await node(DRIVER, [dir, receiver.url]);
    if (rerun.code !== 0)
      throw new Error(`the run after ${point ?? 'no kill'} failed (exit ${rerun.code}):\n${rerun.stderr}`);
    const { a, status } = JSON.parse(rerun.stdout) as { a: string; status: { counts: Record<string, number> } };
    const accepted = (channel: string) =>
      receiver.requests
        .filter((r) => r.path === `/${channel}` && !refused.has(r.n))
        .map((r) => r.json<{ idempotency_key: string }>().idempotency_key.replace(/^digest\..*/, 'digest'));
    return { a, status, hook: accepted('hook'), spare: accepted('spare') };
  } finally {
    await receiver.stop();
    await cleanup();
  }
}

/**
 * What each channel must get: the P1's three entries (opened, acknowledged, resolved), the reports of `dead` refusing
 * them; hook also the P3's digest.
 */
function expected(a: string) {
  const entries = ['0000', '0001', '0002'].map((e) => `${a}.${e}`);
  const reports = entries.map((e) => `${e}.dead.failed`);
  return { spare: [...entries, ...reports].sort(), hook: [...entries, ...reports, 'digest'].sort() };
}

const duplicates = new Map<string, number>();

/** Checks the life's outcome and returns how many messages arrived twice. */
function check(life: Awaited<ReturnType<typeof lifeKilledAt>>, expect: typeof import('vitest')['expect']): number {
  const want = expected(life.a);
  expect([...new Set(life.hook)].sort()).toEqual(want.hook);
  expect([...new Set(life.spare)].sort()).toEqual(want.spare);
  // Nothing left to send; the three messages to `dead` failed for good (and were reported above).
  expect(life.status.counts).toMatchObject({ pending: 0, failed: 3, expired: 0 });
  return life.hook.length + life.spare.length - want.hook.length - want.spare.length;
}

describe('a sending process killed with SIGKILL', () => {
  it('without a kill, each channel gets each message exactly once', async ({ expect }) => {
    const dups = check(await lifeKilledAt(), expect);
    expect(dups).toBe(0);
  });

  it(`has ${POINTS.length} notify and state failpoints to be killed at`, ({ expect }) => {
    expect(POINTS.length).toBeGreaterThanOrEqual(20);
  });

  describe.concurrent('killed at a failpoint, then run again', () => {
    for (const point of POINTS)
      it(
        `${point}: every message is delivered` +
          `${point === DUPLICATES_AT ? ', the one accepted before the kill twice' : ', none twice'}`,
        async ({ expect }) => {
          const dups = check(await lifeKilledAt(point), expect);
          duplicates.set(point, dups);
          // With one message in flight at a time, exactly the one whose 2xx the killed process never recorded.
          expect(dups).toBe(point === DUPLICATES_AT ? 1 : 0);
        },
      );
  });
});

describe('a report racing a resolve', () => {
  it('an event for an incident resolved while it was being folded in opens a new incident', async ({ expect }) => {
    const { dir, cleanup } = await tempDir('drkit-race-');
    try {
      const notifier = new Notifier({ store: new FolderStateStore(dir), log: () => {} });
      const first = (
        await notifier.report({
          by: 'scheduler',
          severity: 'P2',
          title: 'RPO exceeded',
          message: 'late',
          dedupKey: 'rpo',
        })
      ).incident!;
      // The reporter stops once it has found the open incident; someone resolves it; then it goes on.
      let resolving: Promise<unknown> | undefined;
      const r = await node(REPORTER, [dir], 'notify.report.before-fold=hang', (text, pid) => {
        if (text.includes('failpoint notify.report.before-fold: hanging'))
          resolving = notifier
            .resolve(first.id, { by: 'ana', message: 'caught up' })
            .finally(() => process.kill(pid, 'SIGTERM'));
      });
      await resolving;
      expect(r.code, r.stderr).toBe(0);
      const { action, id } = JSON.parse(r.stdout);
      expect(action).toBe('opened');
      expect(id).not.toBe(first.id);
      expect((await notifier.list()).map((i) => i.id)).toEqual([id]);
      expect((await notifier.get(first.id)).status).toBe('resolved');
    } finally {
      await cleanup();
    }
  });
});

afterAll(() => {
  const rows = POINTS.map((p) => `  ${p.padEnd(40)} ${duplicates.get(p) ?? '-'}`);
  console.log(
    `duplicates per kill point (sent twice because the process died between a 2xx and the outbox ` +
      `update):\n${rows.join('\n')}`,
  );
});
