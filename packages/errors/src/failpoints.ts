import { writeSync } from 'node:fs';
import { DrkitError } from './index.js';

/**
 * Named steps where a test can make drkit fail on purpose, as etcd's gofail and FoundationDB's
 * buggify do. Inert unless `DRKIT_FAILPOINTS` is set, e.g.
 * `DRKIT_FAILPOINTS=prune.after-delete-meta:2=kill,commit.before-metadata=hang`: `:n` fires at the
 * nth time the point is reached (default the first). The crash-matrix test (apps/cli) runs every
 * point listed here with every action, and notify's crash test kills at every `notify.` and
 * `state.` point, so a new point is tested by adding it to this list.
 */
export const FAILPOINTS = {
  'backup.after-source': "a backup stored the nth source's archive and index",
  'commit.before-metadata': 'every blob of a snapshot is stored; its metadata (the commit point) is not',
  'commit.after-metadata': "a snapshot's metadata is stored; the backup still holds its lock",
  'lock.after-write': 'a lock file is written; the other locks are not read yet',
  'lock.refresh': 'a held lock is about to be refreshed (when armed, the first refresh comes at once)',
  'forget.after-delete-meta': "forget removed the nth snapshot's metadata",
  'prune.after-delete-meta': "forget --prune removed the nth snapshot's metadata; no data yet",
  'prune.after-delete-blob': 'prune removed the nth data blob',
  'store.before-remove-folder': 'a local store removed a file; the folder it may have emptied is still there',
  'copy.after-blob': 'copy stored the nth blob in the destination and read it back',
  'copy.before-metadata': 'copy stored every blob of a snapshot; its metadata is not written yet',
  'tag.before-write': 'tag read the snapshot under its lock; the new metadata is not written yet',
  'restore.after-extract': 'a restore extracted and checked everything into staging; nothing is moved yet',
  'restore.during-move': 'a restore moved its first entry into the target',
  'restore.redis.after-flush': 'a Redis replace emptied the databases; no key is restored yet',
  'restore.redis.after-batch': 'a Redis restore wrote the nth batch of keys',
  'state.after-lock': "a folder state store write holds the key's lock file; it has not read the key yet",
  'state.after-temp': 'a folder state store write fsynced its temp file; it is not renamed over the key yet',
  'state.after-rename':
    'a folder state store write renamed its temp file over the key; the folder is not fsynced, the lock still held',
  'state.after-unlink': "a folder state store delete removed the key's file; the lock is still held",
  'notify.report.after-dedup-claim':
    'a report claimed its dedup key for a new incident id; the incident is not written yet',
  'notify.report.before-fold':
    'a report found the open incident holding its dedup key; its event is not folded into it yet',
  'notify.report.after-open-index': "a new incident's open index is written; the incident is not",
  'notify.incident.after-write':
    'an incident was written (opened or changed); its new timeline entries are not routed yet',
  'notify.route.after-entry':
    "the nth timeline entry is routed (outbox records or a digest item); the incident's routed count is not advanced",
  'notify.route.after-count': "an incident's routed count is advanced; a resolved one is still in the open index",
  'notify.route.after-close': 'a resolved incident left the open index; its dedup key is not released yet',
  'notify.digest.after-add': 'an entry was added to a digest window',
  'notify.digest.after-queue': "a closed digest window's messages are in the outbox; the window is not removed yet",
  'notify.outbox.after-record': 'the nth outbox record is written; the rest of its batch may not be',
  'notify.outbox.retry': 'a message that failed before is about to be claimed again',
  'notify.outbox.after-claim': 'a message is claimed for sending; nothing is sent yet',
  'notify.outbox.after-accepted':
    'the receiver accepted a message (2xx); the outbox does not say delivered yet: the one window where a ' +
    'message is sent twice',
  'notify.outbox.after-refused': 'the receiver refused a message for good; the outbox does not say failed yet',
  'notify.outbox.after-failure-report':
    "a refused message's report to the route's other channels is queued; the message is not marked failed yet",
  'notify.outbox.after-retry-wait':
    "a retryable failure is recorded with the message's backoff; the channel's hold is not written yet",
  'notify.outbox.before-release-hold':
    'a message to a held channel went through and is recorded delivered; the hold is not lifted yet',
  'notify.flush.before-sleep': 'a flush sent what was due and is about to sleep until the next retry or window',
} as const;
export type Failpoint = keyof typeof FAILPOINTS;

/** `kill`: SIGKILL itself; `throw`: fail the step; `hang`: stop there until SIGINT or SIGTERM arrives. */
export const FAILPOINT_ACTIONS = ['kill', 'throw', 'hang'] as const;
export type FailpointAction = (typeof FAILPOINT_ACTIONS)[number];

interface Arm {
  hit: number;
  action: FailpointAction;
  seen: number;
}

// Parsed once, on first use; null when unset, so an unarmed point costs one comparison.
let armed: Map<string, Arm> | null | undefined;

function parse(spec: string | undefined): Map<string, Arm> | null {
  if (!spec?.trim()) return null;
  const arms = new Map<string, Arm>();
  for (const item of spec.split(/[,;\s]+/).filter(Boolean)) {
    const m = /^([a-z.-]+)(?::(\d+))?=([a-z]+)$/.exec(item);
    if (!m || !(m[1]! in FAILPOINTS) || !FAILPOINT_ACTIONS.includes(m[3] as FailpointAction))
      throw new DrkitError(
        'FAILPOINT_SPEC',
        `DRKIT_FAILPOINTS has "${item}", which is not NAME[:N]=kill|throw|hang with a known NAME.`,
        {
          hint: `Known failpoints: ${Object.keys(FAILPOINTS).join(', ')}. Unset DRKIT_FAILPOINTS outside tests.`,
        },
      );
    arms.set(m[1]!, { hit: Number(m[2] ?? 1), action: m[3] as FailpointAction, seen: 0 });
  }
  return arms;
}

/** True when DRKIT_FAILPOINTS arms this point (for steps a test could not reach in time otherwise). */
export function failpointArmed(name: Failpoint): boolean {
  if (armed === undefined) armed = parse(process.env.DRKIT_FAILPOINTS);
  return armed?.has(name) === true;
}

/** Marks a step boundary; does nothing unless DRKIT_FAILPOINTS arms this point. Await it: `hang` returns a promise. */
export function failpoint(name: Failpoint): Promise<void> | undefined {
  if (armed === undefined) armed = parse(process.env.DRKIT_FAILPOINTS);
  if (armed === null) return undefined;
  const arm = armed.get(name);
  if (!arm || ++arm.seen !== arm.hit) return undefined;
  // Said synchronously, so a test knows the point was reached (and, for hang, when to send a signal).
  writeSync(2, `drkit: failpoint ${name}: ${arm.action === 'hang' ? 'hanging until SIGINT or SIGTERM' : arm.action}\n`);
  if (arm.action === 'kill') {
    process.kill(process.pid, 'SIGKILL');
    // Nothing after the point may run while the signal is delivered.
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
  if (arm.action === 'throw')
    throw new DrkitError('FAILPOINT', `Failpoint ${name} fired (DRKIT_FAILPOINTS).`, {
      hint: 'DRKIT_FAILPOINTS is for tests: unset it.',
    });
  return new Promise((resolve) => {
    const alive = setInterval(() => {}, 60_000);
    const done = () => {
      clearInterval(alive);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
