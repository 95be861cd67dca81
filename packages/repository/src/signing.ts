import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { RepoError, RepoErrorCode } from './errors.js';
import { CHECKSUM_FIELD, encodeMetadata } from './metadata-checksum.js';

/**
 * `ed25519:` + the 32-byte public key in base64: what `--trust-key`,
 * `trust_keys:` and config.json's `signing.keys` hold.
 */
export const PUBLIC_KEY_PREFIX = 'ed25519:';
const PUBLIC_KEY = /^ed25519:[A-Za-z0-9+/]{43}=$/;
// An Ed25519 SubjectPublicKeyInfo is this DER prefix and the raw key (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const SIGNATURE_FIELD = 'signature';
/**
 * Fields a snapshot signature does not cover: the checksum, the signature itself, and tags (changed after the backup,
 * by hosts without the key).
 */
const UNSIGNED_FIELDS = [CHECKSUM_FIELD, SIGNATURE_FIELD, 'tags'];

/** A snapshot's detached signature (docs/FORMAT.md, "Signatures"). */
export interface SnapshotSignature {
  type: 'ed25519';
  /** The public key that signed, as a hint for readers; trust comes only from the reader's own pins. */
  key: string;
  /** base64 of the 64-byte Ed25519 signature over the signed payload. */
  value: string;
}

const badKey = (message: string, hint: string) => new RepoError(RepoErrorCode.BAD_SIGNING_KEY, message, { hint });

function publicKeyText(key: KeyObject): string {
  return (
    `${PUBLIC_KEY_PREFIX}` +
    `${key.export({ type: 'spki', format: 'der' }).subarray(SPKI_PREFIX.length).toString('base64')}`
  );
}

/** The secret half, held by backup hosts: signs snapshot metadata. Never printed; it prints as its public key. */
export class SigningKey {
  readonly publicKey: string;

  private constructor(private readonly key: KeyObject) {
    this.publicKey = publicKeyText(createPublicKey(key));
  }

  /**
   * A PKCS#8 PEM private key (`openssl genpkey -algorithm ed25519`, or `drkit init --generate-signing-key`); lines
   * before it are comments.
   */
  static fromPem(text: string, where: string): SigningKey {
    let key: KeyObject;
    try {
      key = createPrivateKey(text);
    } catch {
      throw badKey(
        `${where} is not a private key in PEM form.`,
        'Use a file made by `drkit init --generate-signing-key FILE` or `openssl genpkey -algorithm ed25519 ' +
          '-out FILE`.',
      );
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw badKey(
        `${where} is a ${key.asymmetricKeyType} key; drkit signs with Ed25519.`,
        'Make one with `openssl genpkey -algorithm ed25519 -out FILE`.',
      );
    return new SigningKey(key);
  }

  /** A new key, and the text of its key file (PEM, with the public key in a comment). */
  static generate(now = new Date()): { key: SigningKey; fileText: string } {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = new SigningKey(privateKey);
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    return {
      key,
      fileText:
        `# drkit snapshot signing key (Ed25519), created ${now.toISOString()}\n` +
        `# public key: ${key.publicKey}\n${pem}`,
    };
  }

  sign(payload: Buffer): string {
    return sign(null, payload, this.key).toString('base64');
  }

  toString(): string {
    return this.publicKey;
  }

  toJSON(): string {
    return this.publicKey;
  }
}

/** Parses pinned public keys (`ed25519:…`), refusing anything else with REPO_BAD_SIGNING_KEY. */
export function parseTrustKeys(texts: readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const text of texts) {
    if (!PUBLIC_KEY.test(text))
      throw badKey(
        `${JSON.stringify(text)} is not a drkit public signing key.`,
        `Give the key as drkit init printed it: ${PUBLIC_KEY_PREFIX} followed by 44 base64 characters.`,
      );
    try {
      keys.set(
        text,
        createPublicKey({
          key: Buffer.concat([SPKI_PREFIX, Buffer.from(text.slice(PUBLIC_KEY_PREFIX.length), 'base64')]),
          format: 'der',
          type: 'spki',
        }),
      );
    } catch {
      throw badKey(
        `${text} is not a valid Ed25519 public key.`,
        'Copy the key again from where drkit init printed it.',
      );
    }
  }
  return keys;
}

/** What a snapshot signature covers: the canonical JSON of the metadata without checksum, signature and tags. */
export function signedPayload(raw: Record<string, unknown>): Buffer {
  const signed = { ...raw };
  for (const f of UNSIGNED_FIELDS) delete signed[f];
  return Buffer.from(canonicalJson(signed));
}

/** `raw` (plain JSON, as it will be stored) with a fresh signature by `key`. */
export function signSnapshot(raw: Record<string, unknown>, key: SigningKey): Record<string, unknown> {
  const signature: SnapshotSignature = { type: 'ed25519', key: key.publicKey, value: key.sign(signedPayload(raw)) };
  return { ...raw, [SIGNATURE_FIELD]: signature };
}

/**
 * The bytes of a snapshot file: signed anew when `key` is given
 * (else any signature it has is kept), with a fresh checksum.
 */
export function encodeSnapshot(meta: object, key?: SigningKey): Buffer {
  const plain = JSON.parse(JSON.stringify(meta)) as Record<string, unknown>;
  return encodeMetadata(key ? signSnapshot(plain, key) : plain);
}

/**
 * Checks a snapshot file against the reader's pinned keys and returns the key that signed it.
 * Refuses, each with its own code, a snapshot without a signature, one signed by a key not
 * pinned (another key, or re-signed), one whose signature does not match its content (an
 * altered field, a rolled-back time), and signed content found under another snapshot's name
 * (a renamed or swapped file).
 */
export function checkSnapshotSignature(
  raw: Record<string, unknown>,
  fileId: string,
  key: string,
  location: string,
  pinned: ReadonlyMap<string, KeyObject>,
): string {
  const refuse = (code: RepoErrorCode, why: string) =>
    new RepoError(code, `${key} in ${location} is refused: ${why}.`, {
      hint:
        'This host pins the keys snapshots must be signed with (--trust-key, DRKIT_TRUST_KEY, trust_keys): ' +
        'someone or something changed the repository. Restore another snapshot by id, or from another copy of ' +
        'the repository.',
      details: { key },
    });
  const sig = raw[SIGNATURE_FIELD] as Partial<SnapshotSignature> | undefined;
  if (sig === undefined)
    throw refuse(
      RepoErrorCode.SIGNATURE_MISSING,
      `it is not signed, and this host accepts only snapshots signed by ${[...pinned.keys()].join(' or ')}`,
    );
  if (
    typeof sig !== 'object' ||
    sig === null ||
    sig.type !== 'ed25519' ||
    typeof sig.key !== 'string' ||
    typeof sig.value !== 'string'
  )
    throw refuse(RepoErrorCode.SIGNATURE_INVALID, 'its signature field is not an Ed25519 signature');
  const publicKey = pinned.get(sig.key);
  if (!publicKey)
    throw refuse(
      RepoErrorCode.SIGNATURE_UNTRUSTED,
      `it is signed by ${sig.key}, which this host does not trust (pinned: ${[...pinned.keys()].join(', ')})`,
    );
  if (!verify(null, signedPayload(raw), publicKey, Buffer.from(sig.value, 'base64')))
    throw refuse(
      RepoErrorCode.SIGNATURE_INVALID,
      `its content does not match its signature by ${sig.key}: it was altered after it was signed`,
    );
  if (raw.id !== fileId)
    throw refuse(
      RepoErrorCode.SIGNATURE_WRONG_SNAPSHOT,
      `it holds the signed metadata of snapshot ${JSON.stringify(raw.id)}, not of ${fileId}: the file was ` +
        `renamed or swapped`,
    );
  return sig.key;
}
