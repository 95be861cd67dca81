import type { BlobStore } from '@drkit/storage';
import {
  AgeDecryptStream,
  AgeEncryptStream,
  AgeError,
  type AgeIdentity,
  checkRecipientMix,
  decryptBuffer,
  encryptBuffer,
  generateIdentity,
  type NativeRecipient,
  parseIdentityFile,
  parseRecipient,
  parseRecipientsFile,
} from '@drkit/age';
import { readSmallBlob } from './blob-io.js';
import { copiedOut } from './recycle.js';
import { RepoError, RepoErrorCode } from './errors.js';
import { type BlobRef, KEYS, type RepoConfig } from './format.js';

export const AGE_SUFFIX = '.age';

/** How a new repository is encrypted: age recipients and/or a passphrase. */
export interface EncryptionOptions {
  /** `age1…` public keys, or post-quantum `age1pq1…` ones (not both kinds). */
  recipients?: string[];
  /** Protects a repository identity stored in the repository (restic-style key file). */
  passphrase?: string;
  /** scrypt work factor (log2) for the passphrase; age's default 18 unless a test needs speed. */
  scryptLogN?: number;
  /** The passphrase's repository identity is post-quantum (it is anyway beside age1pq1… recipients). */
  pq?: boolean;
}

/** What reading encrypted data needs: identities, or the repository passphrase. */
export interface KeyOptions {
  identities?: AgeIdentity[];
  /** Asked only when an encrypted blob must be read and the repository has a passphrase. */
  passphrase?: string | (() => Promise<string | undefined>);
}

const HOW_TO_READ =
  'Pass --identity FILE (or set DRKIT_IDENTITY_FILE) with the secret key of one of its recipients, or set ' +
  'DRKIT_PASSPHRASE / --passphrase-file if the repository was created with a passphrase.';

/** Turns a failure of the age module into a RepoError that says what it needs. */
export function ageFailure(err: unknown, where: string, recipients: readonly string[]): unknown {
  if (!(err instanceof AgeError)) return err;
  switch (err.reason) {
    case 'no-identity-matched':
      return new RepoError(
        RepoErrorCode.WRONG_IDENTITY,
        `${where} cannot be decrypted with the identity given: it was encrypted for ${list(recipients)}.`,
        {
          hint:
            `Pass the identity file (--identity FILE / DRKIT_IDENTITY_FILE) whose public key is one of those ` +
            `recipients${
              err.stanzaTypes.includes('mlkem768x25519')
                ? ' (a post-quantum recipient, age1pq1…, is opened by its AGE-SECRET-KEY-PQ-1… identity)'
                : ''
            }. Nothing was written.`,
          details: { recipients },
        },
      );
    case 'bad-passphrase':
      return new RepoError(RepoErrorCode.WRONG_PASSPHRASE, `The passphrase does not open ${where}.`, {
        hint: 'Check DRKIT_PASSPHRASE / --passphrase-file, or use --identity FILE instead.',
      });
    case 'bad-key':
      return new RepoError(RepoErrorCode.BAD_KEY, `${err.message}`, {
        hint:
          'Use age keys as age-keygen writes them: age1… public keys and AGE-SECRET-KEY-1… identities, or ' +
          'from `age-keygen -pq` (age ≥ 1.3) age1pq1… and AGE-SECRET-KEY-PQ-1….',
      });
    case 'mixed-recipients':
      return new RepoError(
        RepoErrorCode.MIXED_RECIPIENTS,
        `The recipients mix post-quantum (age1pq1…) and classic (age1…) keys: ${err.message}. Nothing was changed.`,
        {
          hint:
            'Give every key holder a post-quantum key (`drkit init --generate-key FILE --pq`, or `age-keygen ' +
            '-pq`) or none. To move a classic repository to post-quantum keys, `drkit init` a new one with ' +
            'them and `drkit copy all --to` it: copy re-encrypts every snapshot.',
          details: { recipients },
        },
      );
    default:
      return new RepoError(RepoErrorCode.CORRUPT_ARCHIVE, `${where} is damaged: ${err.message}.`, {
        cause: err,
        hint: 'Restore from another snapshot or another copy of the repository.',
        details: { key: where },
      });
  }
}

const list = (r: readonly string[]) => (r.length ? r.map(shortRecipient).join(', ') : 'no known recipient');

/** A recipient for a message: a post-quantum one is 1,959 characters, so it is shown by its ends. */
export function shortRecipient(r: string): string {
  return r.length > 80 ? `${r.slice(0, 16)}…${r.slice(-8)}` : r;
}

/** Parses identity-file text, throwing REPO_BAD_KEY (never repeating the secret). */
export function readIdentities(text: string, where: string): AgeIdentity[] {
  try {
    return parseIdentityFile(text, where);
  } catch (err) {
    throw ageFailure(err, where, []);
  }
}

/** Parses `age1…` / `age1pq1…` strings and recipients-file text, throwing REPO_BAD_KEY. */
export function readRecipients(values: string[], files: Array<{ text: string; where: string }> = []): string[] {
  try {
    const out = [
      ...values.map((v) => parseRecipient(v)),
      ...files.flatMap((f) => parseRecipientsFile(f.text, f.where)),
    ];
    return [...new Set(out.map((r) => r.text))];
  } catch (err) {
    throw ageFailure(err, 'recipients', []);
  }
}

/** Throws REPO_MIXED_RECIPIENTS when recipients (already read) mix post-quantum and classic keys. */
export function checkRecipients(recipients: readonly string[]): void {
  try {
    checkRecipientMix(recipients.map((r) => parseRecipient(r)));
  } catch (err) {
    throw ageFailure(err, 'recipients', recipients);
  }
}

/** The `encryption` block of a new repository's config.json, and the blobs it needs stored. */
export async function prepareEncryption(
  options: EncryptionOptions,
): Promise<{ block: NonNullable<RepoConfig['encryption']>; blobs: Array<[string, Buffer]> }> {
  const recipients = readRecipients(options.recipients ?? []);
  const blobs: Array<[string, Buffer]> = [];
  let passphraseKey: string | undefined;
  if (options.passphrase !== undefined) {
    if (options.passphrase.length === 0)
      throw new RepoError(RepoErrorCode.BAD_KEY, 'The passphrase is empty.', {
        hint: 'Choose a long passphrase (several words), or use age recipients instead.',
      });
    // Backups need only public keys: the passphrase protects a
    // repository identity, whose public key joins the recipients
    // (a post-quantum one beside post-quantum recipients, which cannot be mixed with classic ones).
    const gen = generateIdentity({ pq: options.pq || recipients.some((r) => r.startsWith('age1pq1')) });
    const sealed = await encryptBuffer(Buffer.from(gen.fileText), [
      { type: 'scrypt', passphrase: options.passphrase, logN: options.scryptLogN },
    ]);
    blobs.push([KEYS.passphraseKey, sealed]);
    recipients.push(gen.recipient);
    passphraseKey = KEYS.passphraseKey;
  }
  if (recipients.length === 0)
    throw new RepoError(RepoErrorCode.BAD_KEY, 'Encryption was asked for without a recipient or a passphrase.', {
      hint: 'Give at least one age1… recipient or a passphrase.',
    });
  checkRecipients(recipients);
  return { block: { type: 'age', recipients, ...(passphraseKey ? { passphraseKey } : {}) }, blobs };
}

/** The encryption side of an open repository: sealing new blobs, opening stored ones. */
export class RepoKeys {
  private readonly recipients: NativeRecipient[];
  private identities: Promise<AgeIdentity[]> | undefined;

  constructor(
    private readonly store: BlobStore,
    private readonly config: RepoConfig['encryption'],
    private readonly options: KeyOptions = {},
  ) {
    try {
      this.recipients = (config?.recipients ?? []).map((r) => parseRecipient(r));
    } catch (err) {
      throw ageFailure(err, 'config.json', []);
    }
  }

  get encrypted(): boolean {
    return this.config !== undefined;
  }

  /** True when reading encrypted blobs may work: an identity or a passphrase was given. */
  get canDecrypt(): boolean {
    return (
      (this.options.identities?.length ?? 0) > 0 ||
      (this.options.passphrase !== undefined && this.config?.passphraseKey !== undefined)
    );
  }

  get recipientTexts(): string[] {
    return this.recipients.map((r) => r.text);
  }

  /** What `putCompressed` needs to encrypt a new blob, or undefined for a plain repository. */
  seal(): { transform: () => AgeEncryptStream; encryption: 'age' } | undefined {
    if (!this.config) return undefined;
    return { transform: () => new AgeEncryptStream(this.recipients, copiedOut), encryption: 'age' };
  }

  /** A decrypting transform for an encrypted blob; rejects with IDENTITY_REQUIRED when there is no key. */
  async unseal(
    ref: BlobRef,
    recipients: readonly string[] = this.recipientTexts,
  ): Promise<(() => AgeDecryptStream) | undefined> {
    if (ref.encryption !== 'age') return undefined;
    const ids = await this.loadIdentities(ref.key, recipients);
    return () => new AgeDecryptStream(ids, (e) => ageFailure(e, ref.key, recipients) as Error);
  }

  /** The identities that open an encrypted blob, for salvage, which opens it chunk by chunk. */
  identitiesFor(ref: BlobRef, recipients: readonly string[] = this.recipientTexts): Promise<AgeIdentity[]> {
    return this.loadIdentities(ref.key, recipients);
  }

  private loadIdentities(key: string, recipients: readonly string[]): Promise<AgeIdentity[]> {
    if (!this.canDecrypt) return Promise.reject(this.required(key, recipients));
    this.identities ??= this.unlock().then((ids) => {
      if (ids.length === 0) throw this.required(key, recipients);
      return ids;
    });
    return this.identities;
  }

  private required(key: string, recipients: readonly string[]): RepoError {
    return new RepoError(
      RepoErrorCode.IDENTITY_REQUIRED,
      `${key} is encrypted with age (recipients ${list(recipients)}); reading it needs a secret key.`,
      {
        hint: HOW_TO_READ,
        details: { key, recipients },
      },
    );
  }

  private async unlock(): Promise<AgeIdentity[]> {
    const ids = [...(this.options.identities ?? [])];
    const p = this.options.passphrase;
    const keyBlob = this.config?.passphraseKey;
    if (p !== undefined && keyBlob) {
      const passphrase = typeof p === 'string' ? p : await p();
      if (passphrase !== undefined) {
        const sealed = await readSmallBlob(this.store, keyBlob);
        const text = await decryptBuffer(sealed, [{ type: 'scrypt', passphrase }]).catch((err) => {
          throw ageFailure(err, `the repository key ${keyBlob}`, []);
        });
        ids.push(...readIdentities(text.toString('utf8'), keyBlob));
      }
    }
    return ids;
  }
}
