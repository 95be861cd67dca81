import { createSecretKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { bech32Decode, bech32Encode } from './bech32.js';
import { AgeError } from './errors.js';
import { PQ_PUBLIC_KEY, PQ_SEED, PQ_STANZA, pqKeyPair } from './pq.js';
import { rawPrivateKey, rawPublicKey, x25519PrivateKey } from './primitives.js';

const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';
const PQ_RECIPIENT_HRP = 'age1pq';
const PQ_IDENTITY_HRP = 'age-secret-key-pq-';

/** A public key (`age1…`): anyone holding it can encrypt, nobody can decrypt with it. */
export interface X25519Recipient {
  readonly type: 'X25519';
  readonly publicKey: Buffer;
  /** The `age1…` string. */
  readonly text: string;
}

/** A passphrase used as a recipient (encrypting) or an identity (decrypting). */
export interface ScryptKey {
  readonly type: 'scrypt';
  readonly passphrase: string;
  /** log2 of scrypt's work factor when encrypting (age's default is 18). */
  readonly logN?: number;
}

/** A hybrid post-quantum public key (`age1pq1…`, ML-KEM-768 + X25519; age ≥ 1.3 reads such files). */
export interface PQRecipient {
  readonly type: typeof PQ_STANZA;
  /** The 1,216-byte ML-KEM-768 encapsulation key ‖ X25519 public key. */
  readonly publicKey: Buffer;
  /** The `age1pq1…` string (1,959 characters). */
  readonly text: string;
}

/** A public key: what `age1…` and `age1pq1…` strings parse to. */
export type NativeRecipient = X25519Recipient | PQRecipient;

export type AgeRecipient = NativeRecipient | ScryptKey;

/**
 * A secret key (`AGE-SECRET-KEY-1…`). The key material is held in a KeyObject and is never
 * printed: inspecting or JSON-serialising an identity shows only its public key.
 */
export class X25519Identity {
  readonly type = 'X25519';
  readonly publicKey: Buffer;
  /** The matching recipient (`age1…`); safe to print. */
  readonly recipient: string;

  constructor(readonly secret: KeyObject) {
    this.publicKey = rawPublicKey(secret);
    this.recipient = encodeRecipient(this.publicKey);
  }

  toJSON(): { type: string; recipient: string } {
    return { type: this.type, recipient: this.recipient };
  }

  [inspect.custom](): string {
    return `X25519Identity(${this.recipient})`;
  }
}

/**
 * A hybrid post-quantum secret key (`AGE-SECRET-KEY-PQ-1…`): a 32-byte seed, held in a KeyObject
 * and never printed, like an X25519 identity's.
 */
export class PQIdentity {
  readonly type = PQ_STANZA;
  readonly publicKey: Buffer;
  /** The matching recipient (`age1pq1…`); safe to print. */
  readonly recipient: string;

  constructor(readonly secret: KeyObject) {
    this.publicKey = pqKeyPair(secret.export()).publicKey;
    this.recipient = bech32Encode(PQ_RECIPIENT_HRP, this.publicKey);
  }

  toJSON(): { type: string; recipient: string } {
    return { type: this.type, recipient: this.recipient };
  }

  [inspect.custom](): string {
    return `PQIdentity(${this.recipient.slice(0, 24)}…)`;
  }
}

export type AgeIdentity = X25519Identity | PQIdentity | ScryptKey;

export function encodeRecipient(publicKey: Uint8Array): string {
  return bech32Encode(RECIPIENT_HRP, publicKey);
}

/** Parses one `age1…` (X25519) or `age1pq1…` (post-quantum) string. */
export function parseRecipient(text: string): NativeRecipient {
  const t = text.trim();
  const d = bech32Decode(t);
  const lower = t === t.toLowerCase();
  if (t.startsWith(`${PQ_RECIPIENT_HRP}1`)) {
    if (d?.hrp !== PQ_RECIPIENT_HRP || d.data.length !== PQ_PUBLIC_KEY || !lower)
      throw new AgeError(
        'bad-key',
        `"${t.slice(0, 40)}…" (${t.length} characters) is not an age post-quantum recipient: a whole one ` +
          `is ${bech32Length(PQ_RECIPIENT_HRP, PQ_PUBLIC_KEY)} characters, lower case, with a valid bech32 checksum.`,
      );
    return { type: PQ_STANZA, publicKey: Buffer.from(d.data), text: t };
  }
  if (d?.hrp !== RECIPIENT_HRP || d.data.length !== 32 || !lower)
    throw new AgeError(
      'bad-key',
      `"${t.slice(0, 80)}" is not an age recipient (a public key that starts with age1, or age1pq1 for a ` +
        `post-quantum one).`,
    );
  return { type: 'X25519', publicKey: Buffer.from(d.data), text: t };
}

/** The length of a bech32 string of `bytes` bytes under `hrp`. */
function bech32Length(hrp: string, bytes: number): number {
  return hrp.length + 1 + Math.ceil((bytes * 8) / 5) + 6;
}

/**
 * Parses one `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…` string. Errors never repeat the text, which may be secret.
 */
export function parseIdentity(text: string): X25519Identity | PQIdentity {
  const d = bech32Decode(text.trim());
  if (d?.hrp === PQ_IDENTITY_HRP && d.data.length === PQ_SEED) return new PQIdentity(createSecretKey(d.data));
  if (d?.hrp !== IDENTITY_HRP || d.data.length !== 32)
    throw new AgeError(
      'bad-key',
      'not an age identity (a secret key that starts with AGE-SECRET-KEY-1, or AGE-SECRET-KEY-PQ-1 for a ' +
        'post-quantum one)',
    );
  return new X25519Identity(x25519PrivateKey(d.data));
}

/**
 * Parses the text of an identity file as age-keygen writes it: `#` comments, blank lines and
 * one `AGE-SECRET-KEY-1…` per line. `where` names the file in errors.
 */
export function parseIdentityFile(text: string, where: string): Array<X25519Identity | PQIdentity> {
  const out = parseLines(
    text,
    parseIdentity,
    (i) =>
      `${where} line ${i} is not an age identity (AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…); the line is ` +
      `not shown because it may be secret.`,
  );
  if (out.length === 0)
    throw new AgeError(
      'bad-key',
      `${where} holds no age identity (a line starting with AGE-SECRET-KEY-1 or AGE-SECRET-KEY-PQ-1).`,
    );
  return out;
}

/** Parses a recipients file: one `age1…` or `age1pq1…` per line, `#` comments and blank lines ignored. */
export function parseRecipientsFile(text: string, where: string): NativeRecipient[] {
  const out = parseLines(text, parseRecipient, (i, err) => `${where} line ${i}: ${(err as Error).message}`);
  if (out.length === 0) throw new AgeError('bad-key', `${where} holds no age recipient (a line starting with age1).`);
  return out;
}

/** One key per line, `#` comments and blank lines ignored; a bad line is a bad-key error saying `why`. */
function parseLines<T>(text: string, parse: (line: string) => T, why: (line: number, err: unknown) => string): T[] {
  const out: T[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    try {
      out.push(parse(t));
    } catch (err) {
      throw new AgeError('bad-key', why(i + 1, err));
    }
  });
  return out;
}

/**
 * A new key pair, X25519 or (`pq`) hybrid post-quantum; `fileText` is what age-keygen (`-pq`)
 * would write, the only place the secret appears.
 */
export function generateIdentity(options: { pq?: boolean; now?: Date } = {}): {
  identity: X25519Identity | PQIdentity;
  recipient: string;
  fileText: string;
} {
  let identity: X25519Identity | PQIdentity;
  let secret: string;
  if (options.pq) {
    const { seed } = pqKeyPair();
    identity = new PQIdentity(createSecretKey(seed));
    secret = bech32Encode(PQ_IDENTITY_HRP, seed).toUpperCase();
  } else {
    const { privateKey } = generateKeyPairSync('x25519');
    identity = new X25519Identity(privateKey);
    secret = bech32Encode(IDENTITY_HRP, rawPrivateKey(privateKey)).toUpperCase();
  }
  const created = (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const fileText = `# created: ${created}\n# public key: ${identity.recipient}\n${secret}\n`;
  return { identity, recipient: identity.recipient, fileText };
}

export function newFileKey(): Buffer {
  return randomBytes(16);
}
