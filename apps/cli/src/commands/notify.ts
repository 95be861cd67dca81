import { type OutboxRecord, remindDueReports } from '@drkit/notify';
import { ExitCode } from '../exit-codes.js';
import { type NotifyOptions, openNotifier } from '../notify-context.js';
import { printJson, say, table, warn } from '../output.js';

const when = (isoTime: string | undefined) => (isoTime ? isoTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

/**
 * Sends what is due; with --wait, keeps at retries, reminders
 * and digests for that long. Exit 1 if anything failed for good.
 */
export async function flush(_args: unknown[], opts: NotifyOptions & { wait?: number }): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  // SIGINT/SIGTERM end the wait early; what is being sent finishes and is recorded.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  // The plan: a resolved P1/P2 gets its review within 48 h; one still missing is a reminder.
  await remindDueReports(notifier);
  const report = await notifier.flush({ waitMs: opts.wait ?? 0, signal: stop.signal }).finally(() => {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  });
  await notifier.store.close();
  const undelivered = report.failed + report.expired;
  if (opts.json) printJson(report);
  else {
    say(
      `delivered ${report.delivered}, retrying ${report.retrying}, failed ${report.failed}` +
        `${report.expired ? `, expired ${report.expired}` : ''}, waiting ${report.waiting}`,
    );
    if (undelivered > 0)
      warn(
        `${undelivered} message${undelivered === 1 ? '' : 's'} could not be delivered ` +
          `and ${undelivered === 1 ? 'was' : 'were'} reported elsewhere: see drkit notify status`,
      );
  }
  return undelivered > 0 ? ExitCode.ERROR : ExitCode.OK;
}

const row = (r: OutboxRecord) => [
  r.id,
  r.channel,
  when(r.dueBy),
  r.deliveredAt ? `delivered ${when(r.deliveredAt)}` : r.state,
  String(r.attempts),
  r.lastError ?? '',
];

export async function status(_args: unknown[], opts: NotifyOptions): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const s = await notifier.status();
  await notifier.store.close();
  if (opts.json) {
    printJson(s);
    return ExitCode.OK;
  }
  say(
    `outbox: ${s.counts.pending} pending, ${s.counts.delivered} delivered, ${s.counts.failed} ` +
      `failed, ${s.counts.expired} expired (finished messages are kept 7 days)`,
  );
  for (const h of s.holds)
    say(
      `failing: ${h.channel}, ${h.failures} failed run${h.failures === 1 ? '' : 's'}, last: ${h.reason}; ` +
        `next attempt from ${when(h.until)}`,
    );
  const head = ['MESSAGE', 'CHANNEL', 'DUE BY', 'STATE', 'ATTEMPTS', 'LAST ERROR'];
  for (const [title, records] of [
    ['missed their deadline (by more than a second)', s.late],
    ['pending', s.pending],
    ['not delivered (failed or expired)', s.undelivered],
  ] as const) {
    if (records.length === 0) continue;
    say(`\n${records.length} ${title}:`);
    table(head, records.map(row));
  }
  return ExitCode.OK;
}

export async function test(args: unknown[], opts: NotifyOptions): Promise<ExitCode> {
  const notifier = await openNotifier(opts);
  const name = String(args[0]);
  const { record } = await notifier.test(name);
  await notifier.store.close();
  if (opts.json) printJson(record);
  else if (record.state === 'delivered')
    say(`sent a test message to ${name} (${notifier.channels.get(name)?.describe()})`);
  else
    say(
      `could not send to ${name} (${notifier.channels.get(name)?.describe()}): ${record.lastError}` +
        `${record.state === 'pending' ? ' (retryable; drkit notify flush tries again)' : ''}`,
    );
  return record.state === 'delivered' ? ExitCode.OK : ExitCode.ERROR;
}
