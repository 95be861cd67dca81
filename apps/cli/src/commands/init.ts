import { open, rm } from 'node:fs/promises';
import { DrkitError, errnoCode } from '@drkit/errors';
import { checkCompressionChoice, generateIdentity, readRecipients, Repository, SigningKey } from '@drkit/repository';
import { loadConfig, repoLocation, storeFor } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { KeyErrorCode, loadSigningKey, passphrase, readKeyFile } from '../keys.js';
import { type GlobalOptions, printJson, say, warn } from '../output.js';

interface InitFlags extends GlobalOptions {
  compression?: 'auto' | 'zstd' | 'gzip';
  recipient: string[];
  recipientsFile?: string;
  generateKey?: string;
  pq?: boolean;
  passphrase?: boolean;
  signingKey?: string;
  generateSigningKey?: string;
}

export async function run(_args: unknown[], opts: InitFlags): Promise<ExitCode> {
  const config = await loadConfig(opts);
  const store = storeFor(repoLocation(opts, config));
  const compression = opts.compression ?? config?.compression ?? 'auto';
  checkCompressionChoice(compression); // before a key is written or a passphrase asked for
  const files = opts.recipientsFile
    ? [{ text: await readKeyFile(opts.recipientsFile, 'recipients'), where: opts.recipientsFile }]
    : [];
  if (opts.pq && !opts.generateKey && !opts.passphrase)
    throw new DrkitError(
      'CLI_USAGE',
      '--pq makes the key that --generate-key (or --passphrase) creates post-quantum, and neither was given.',
      {
        hint:
          'Add --generate-key FILE, or pass post-quantum public keys with --recipient age1pq1… (from ' +
          '`age-keygen -pq`, age ≥ 1.3) without --pq. Nothing was created.',
      },
    );
  const generated = opts.generateKey ? generateIdentity({ pq: opts.pq }) : undefined;
  const recipients = readRecipients([...opts.recipient, ...(generated ? [generated.recipient] : [])], files);
  const pass = opts.passphrase ? await passphrase(opts, 'New repository passphrase: ', true) : undefined;
  if (opts.passphrase && pass === undefined)
    throw new DrkitError(
      KeyErrorCode.NO_PASSPHRASE,
      '--passphrase was given, but no passphrase: there is no terminal to ask on.',
      {
        hint: 'Set DRKIT_PASSPHRASE or pass --passphrase-file FILE. Nothing was created.',
      },
    );
  const given = await loadSigningKey(opts.signingKey, config);
  const newSigner = opts.generateSigningKey ? SigningKey.generate() : undefined;
  const signingKeys = [given, newSigner?.key].flatMap((k) => (k ? [k.publicKey] : []));
  const written: string[] = [];
  let repo: Repository;
  try {
    if (opts.generateKey && generated) await writeKeyFile(opts.generateKey, generated.fileText, 'identity', written);
    if (opts.generateSigningKey && newSigner)
      await writeKeyFile(opts.generateSigningKey, newSigner.fileText, 'signing key', written);
    repo = await Repository.init(store, {
      compression,
      ...(recipients.length || pass !== undefined ? { encryption: { recipients, passphrase: pass, pq: opts.pq } } : {}),
      ...(signingKeys.length ? { signingKeys } : {}),
    });
  } catch (err) {
    // A new key would open or sign nothing: do not leave it lying around.
    for (const file of written) await rm(file, { force: true });
    throw err;
  }
  const enc = repo.config.encryption;
  if (opts.json)
    printJson({
      location: store.location,
      id: repo.config.id,
      format: repo.config.format,
      compression,
      encryption: enc
        ? { type: enc.type, recipients: enc.recipients, passphrase: enc.passphraseKey !== undefined }
        : null,
      ...(generated ? { identityFile: opts.generateKey, recipient: generated.recipient } : {}),
      ...(signingKeys.length
        ? { signing: { keys: signingKeys, ...(newSigner ? { keyFile: opts.generateSigningKey } : {}) } }
        : {}),
    });
  else {
    say(
      `created drkit repository at ${store.location} (format ${repo.config.format}, compression ${compression}${
        enc
          ? `, encrypted with age for ${enc.recipients.length} recipient(s)` +
            `${enc.passphraseKey ? ', one of them unlocked by the passphrase' : ''}`
          : ''
      })`,
    );
    if (generated) {
      say(
        `wrote a new ${opts.pq ? 'post-quantum ' : ''}age identity to ${opts.generateKey} (mode 0600); its ` +
          `public key is ${generated.recipient}`,
      );
      warn(
        `Keep a copy of ${opts.generateKey} OFF this machine (a password manager, offline media): without ` +
          `it these backups cannot be restored, ` +
          'and anyone who has it can read them. Backups need only the public key, which the repository ' +
          'records; delete the identity from this host once it is stored safely.',
      );
    }
    if (newSigner)
      say(
        `wrote a new signing key to ${opts.generateSigningKey} (mode 0600); its public key ` +
          `is ${newSigner.key.publicKey}`,
      );
    if (signingKeys.length) {
      say(
        `backups into this repository must be signed (--signing-key FILE, DRKIT_SIGNING_KEY_FILE or ` +
          `signing_key in the config) with ${signingKeys.join(' or ')}`,
      );
      say(
        `on restore and verify hosts, pin it: --trust-key ${signingKeys[0]} (or DRKIT_TRUST_KEY, or ` +
          `trust_keys in the config); keep this key in your own records, not only in the repository`,
      );
    }
    if (enc?.passphraseKey)
      warn(
        "The passphrase cannot be recovered: without it (or another recipient's identity) the backups " +
          'cannot be restored.',
      );
  }
  if (!enc) warn(UNENCRYPTED_NOTE);
  return ExitCode.OK;
}

const UNENCRYPTED_NOTE =
  'note: this repository is not encrypted: anyone who can read it (the folder or bucket, or a copy of it) ' +
  'can read the backups. ' +
  'To encrypt, create it with --recipient age1… (or --recipients-file FILE, --generate-key FILE, --passphrase). ' +
  'An existing repository cannot be encrypted in place: create an encrypted one and `drkit copy all --to` it.';

async function writeKeyFile(file: string, text: string, what: string, written: string[]): Promise<void> {
  try {
    const fh = await open(file, 'wx', 0o600);
    written.push(file);
    try {
      await fh.chmod(0o600);
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (cause) {
    const why =
      errnoCode(cause) === 'EEXIST' ? ': the file exists' : ` (${errnoCode(cause) ?? (cause as Error).message})`;
    throw new DrkitError(KeyErrorCode.KEY_FILE, `Cannot write the new ${what} to ${file}${why}.`, {
      cause,
      hint: 'Choose a path that does not exist yet; drkit never overwrites a key file. Nothing was created.',
    });
  }
}
