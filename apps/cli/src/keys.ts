import { readFile, stat } from 'node:fs/promises';
import type { DrkitConfig } from '@drkit/config';
import { DrkitError, errnoCode } from '@drkit/errors';
import { type AgeIdentity, decryptBuffer, type KeyOptions, readIdentities, SigningKey } from '@drkit/repository';
import { type GlobalOptions, warn } from './output.js';

export const KeyErrorCode = {
  KEY_FILE: 'CLI_KEY_FILE',
  NO_PASSPHRASE: 'CLI_NO_PASSPHRASE',
} as const;

const FLAGS: Record<string, string> = {
  identity: '--identity / DRKIT_IDENTITY_FILE',
  recipients: '--recipients-file / DRKIT_RECIPIENTS_FILE',
  passphrase: '--passphrase-file / DRKIT_PASSPHRASE_FILE',
  'signing key': '--signing-key / DRKIT_SIGNING_KEY_FILE / signing_key in the config',
};

export async function readKeyFile(file: string, what: string): Promise<string>;
export async function readKeyFile(file: string, what: string, binary: true): Promise<Buffer>;
export async function readKeyFile(file: string, what: string, binary?: true): Promise<string | Buffer> {
  try {
    return binary ? await readFile(file) : await readFile(file, 'utf8');
  } catch (cause) {
    throw new DrkitError(
      KeyErrorCode.KEY_FILE,
      `Cannot read the ${what} file ${file} (${errnoCode(cause) ?? (cause as Error).message}).`,
      {
        cause,
        hint: `Check the path given with ${FLAGS[what] ?? what}.`,
      },
    );
  }
}

/** The passphrase from --passphrase-file / DRKIT_PASSPHRASE_FILE, DRKIT_PASSPHRASE, or a prompt on a terminal. */
export async function passphrase(opts: GlobalOptions, prompt: string, confirm = false): Promise<string | undefined> {
  if (opts.passphraseFile) return (await readKeyFile(opts.passphraseFile, 'passphrase')).replace(/\r?\n$/, '');
  if (process.env.DRKIT_PASSPHRASE !== undefined) return process.env.DRKIT_PASSPHRASE;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const first = await askHidden(prompt);
  if (confirm && (await askHidden('Type it again: ')) !== first)
    throw new DrkitError(KeyErrorCode.NO_PASSPHRASE, 'The two passphrases differ.', {
      hint: 'Run the command again and type the same passphrase twice.',
    });
  return first;
}

function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let text = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new Error('interrupted'));
        if (ch === '\u007f') text = text.slice(0, -1);
        else text += ch;
      }
    };
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    stdin.on('data', onData);
  });
}

/** Identities from --identity / DRKIT_IDENTITY_FILE (a passphrase-protected file is opened too). */
export async function loadIdentities(opts: GlobalOptions): Promise<AgeIdentity[]> {
  const file = opts.identity;
  if (!file) return [];
  const raw = await readKeyFile(file, 'identity', true);
  if (raw.subarray(0, 21).toString('latin1') === 'age-encryption.org/v1') {
    // An identity file encrypted with `age -p`, as age itself accepts it.
    const p = await passphrase(opts, `Passphrase for ${file}: `);
    if (p === undefined)
      throw new DrkitError(KeyErrorCode.NO_PASSPHRASE, `${file} is protected by a passphrase, and none was given.`, {
        hint: 'Set DRKIT_PASSPHRASE or --passphrase-file, or run on a terminal to be asked.',
      });
    const text = await decryptBuffer(raw, [{ type: 'scrypt', passphrase: p }]).catch(() => {
      throw new DrkitError(KeyErrorCode.KEY_FILE, `The passphrase does not open ${file}.`, {
        hint: 'Check the passphrase (DRKIT_PASSPHRASE / --passphrase-file).',
      });
    });
    return readIdentities(text.toString('utf8'), file);
  }
  return readIdentities(raw.toString('utf8'), file);
}

/** What opening a repository for reading needs: identities now, the passphrase only if asked. */
export async function keyOptions(opts: GlobalOptions): Promise<KeyOptions> {
  const identities = await loadIdentities(opts);
  const canAsk =
    opts.passphraseFile !== undefined ||
    process.env.DRKIT_PASSPHRASE !== undefined ||
    (process.stdin.isTTY && process.stderr.isTTY);
  return { identities, ...(canAsk ? { passphrase: () => passphrase(opts, 'Repository passphrase: ') } : {}) };
}

/** The key snapshots are signed with: --signing-key / DRKIT_SIGNING_KEY_FILE, else the config's signing_key. */
export async function loadSigningKey(file: string | undefined, config?: DrkitConfig): Promise<SigningKey | undefined> {
  const path = file ?? config?.signing_key;
  if (!path) return undefined;
  const key = SigningKey.fromPem(await readKeyFile(path, 'signing key'), path);
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077)
    warn(
      `warning: the signing key ${path} can be read by other users (mode ` +
        `${mode.toString(8).padStart(4, '0')}): whoever reads it can sign snapshots. Run chmod 600 ${path}.`,
    );
  return key;
}

/**
 * The keys this host pins: --trust-key (repeatable) or DRKIT_TRUST_KEY
 * (comma- or space-separated), else the config's trust_keys.
 */
export function trustKeys(opts: GlobalOptions, config?: DrkitConfig): string[] {
  return opts.trustKey?.length ? opts.trustKey : (config?.trust_keys ?? []);
}
