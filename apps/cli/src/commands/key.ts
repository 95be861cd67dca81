import { changeRecipients, readRecipients, type SnapshotMeta } from '@drkit/repository';
import { loadConfig, openRepo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { readKeyFile } from '../keys.js';
import { lockNotes } from '../lock-notes.js';
import { type GlobalOptions, printJson, say, warn } from '../output.js';

const LOCK_NOTES = { onStale: lockNotes.onStaleLock, onDamaged: lockNotes.onDamagedLock };

export async function list(_args: unknown[], opts: GlobalOptions): Promise<ExitCode> {
  const repo = await openRepo(opts, await loadConfig(opts));
  const enc = repo.config.encryption;
  const snapshots = await repo.listSnapshots({
    onDamaged: (d) => warn(`warning: snapshot ${d.id} is not listed: ${d.reason}`),
  });
  if (opts.json) {
    printJson({
      recipients: enc?.recipients ?? [],
      passphrase: enc?.passphraseKey !== undefined,
      snapshots: snapshots.map((s) => ({ id: s.id, time: s.time, recipients: s.encryption?.recipients ?? [] })),
    });
    return ExitCode.OK;
  }
  if (!enc) say(`the repository at ${repo.store.location} is not encrypted`);
  else {
    say(
      `new backups are encrypted to ${enc.recipients.length} recipient(s)` +
        `${enc.passphraseKey ? ' (one of them unlocked by the passphrase)' : ''}:`,
    );
    for (const r of enc.recipients) say(`  ${r}`);
  }
  // Snapshots by the recipients they were written for: only those keys open them.
  const groups = new Map<string, SnapshotMeta[]>();
  for (const s of snapshots) {
    const set = (s.encryption?.recipients ?? []).join(', ');
    groups.set(set, [...(groups.get(set) ?? []), s]);
  }
  for (const [set, group] of groups)
    say(
      `${group.length} snapshot(s), ${group[0]!.id} … ${group.at(-1)!.id}: ` +
        `${set ? `written for ${set}` : 'not encrypted'}`,
    );
  return ExitCode.OK;
}

export async function add([given]: unknown[], opts: GlobalOptions & { recipientsFile?: string }): Promise<ExitCode> {
  const files = opts.recipientsFile
    ? [{ text: await readKeyFile(opts.recipientsFile, 'recipients'), where: opts.recipientsFile }]
    : [];
  const added = readRecipients(given as string[], files);
  const repo = await openRepo(opts, await loadConfig(opts));
  const recipients = await changeRecipients(repo, { add: added }, LOCK_NOTES);
  report(
    opts,
    recipients,
    `added ${added.join(', ')}: new backups are encrypted to it as well; snapshots already written stay ` +
      `readable only by the keys they were written for (\`drkit key list\`)`,
  );
  return ExitCode.OK;
}

export async function remove([given]: unknown[], opts: GlobalOptions): Promise<ExitCode> {
  const removed = given as string[];
  const repo = await openRepo(opts, await loadConfig(opts));
  const recipients = await changeRecipients(repo, { remove: removed }, LOCK_NOTES);
  const written = (await repo.listSnapshots()).filter((s) => s.encryption?.recipients.some((r) => removed.includes(r)));
  report(
    opts,
    recipients,
    `removed ${removed.join(', ')}: new backups are no longer encrypted to it. ${written.length} ` +
      `snapshot(s) already written for it stay readable by it (and by their other recipients); to re-encrypt ` +
      `them for the current keys only, \`drkit copy all --to NEW\` into a repository made with them and retire ` +
      `this one`,
  );
  return ExitCode.OK;
}

function report(opts: GlobalOptions, recipients: string[], message: string): void {
  if (opts.json) printJson({ recipients });
  else {
    say(message);
    say(`recipients now: ${recipients.join(', ')}`);
  }
}
