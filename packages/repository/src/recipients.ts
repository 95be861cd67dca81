import { checkRecipients, readRecipients } from './encryption.js';
import { RepoError, RepoErrorCode } from './errors.js';
import { KEYS, type RepoConfig } from './format.js';
import type { LockOptions } from './lock.js';
import { encodeMetadata } from './metadata-checksum.js';
import { Repository } from './repository.js';

export interface RecipientChange {
  add?: string[];
  remove?: string[];
}

/**
 * Changes the age recipients new blobs are encrypted to (config.json), under the exclusive lock so
 * no backup is writing meanwhile. Blobs already stored stay encrypted to the recipients they were
 * written for: re-encrypting history is a `copy` into a repository with the new keys.
 */
export async function changeRecipients(
  repo: Repository,
  change: RecipientChange,
  lock: Omit<LockOptions, 'exclusive' | 'purpose'> = {},
): Promise<string[]> {
  if (!repo.config.encryption)
    throw new RepoError(
      RepoErrorCode.NOT_ENCRYPTED,
      `The repository at ${repo.store.location} is not encrypted, so it has no recipients to change.`,
      {
        hint:
          'An existing repository cannot be encrypted in place: create one with `drkit init --recipient ' +
          'age1…` and `drkit copy all --to` it.',
      },
    );
  const added = readRecipients(change.add ?? []);
  const held = await repo.lock({ ...lock, exclusive: true, purpose: 'key' });
  try {
    // Read again under the lock: another key change may have landed since the repository was opened.
    const fresh = (await Repository.open(repo.store)).config as RepoConfig & {
      encryption: NonNullable<RepoConfig['encryption']>;
    };
    const current = fresh.encryption.recipients;
    const unknown = (change.remove ?? []).filter((r) => !current.includes(r));
    if (unknown.length)
      throw new RepoError(
        RepoErrorCode.BAD_KEY,
        `${unknown.join(', ')} ${unknown.length > 1 ? 'are not recipients' : 'is not a recipient'} of this repository.`,
        {
          hint: `Its recipients: ${current.join(', ')} (\`drkit key list\`).`,
        },
      );
    const recipients = [
      ...current.filter((r) => !change.remove?.includes(r)),
      ...added.filter((r) => !current.includes(r)),
    ];
    if (recipients.length === 0)
      throw new RepoError(
        RepoErrorCode.LAST_RECIPIENT,
        'Removing every recipient would leave new backups readable by nobody. Nothing was changed.',
        {
          hint: 'Add the new key first (`drkit key add age1…`), then remove the old one.',
        },
      );
    checkRecipients(recipients);
    await held.assertHeld();
    await repo.store.put(KEYS.config, encodeMetadata({ ...fresh, encryption: { ...fresh.encryption, recipients } }));
    return recipients;
  } finally {
    await held.release().catch(() => {});
  }
}
