import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { bech32Decode, bech32Encode } from './bech32.js';
import { AgeError } from './errors.js';
import { rawPrivateKey, rawPublicKey, x25519PrivateKey } from './primitives.js';

const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';

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

export type AgeRecipient = X25519Recipient | ScryptKey;

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

export type AgeIdentity = X25519Identity | ScryptKey;

export function encodeRecipient(publicKey: Uint8Array): string {
  return bech32Encode(RECIPIENT_HRP, publicKey);
}

/** Parses one `age1…` string. */
export function parseRecipient(text: string): X25519Recipient {
  const t = text.trim();
  const d = bech32Decode(t);
  if (!d || d.hrp !== RECIPIENT_HRP || d.data.length !== 32 || t !== t.toLowerCase())
    throw new AgeError('bad-key', `"${t.slice(0, 80)}" is not an age X25519 recipient (a public key that starts with age1).`);
  return { type: 'X25519', publicKey: Buffer.from(d.data), text: t };
}

/** Parses one `AGE-SECRET-KEY-1…` string. Errors never repeat the text, which may be secret. */
export function parseIdentity(text: string): X25519Identity {
  const d = bech32Decode(text.trim());
  if (!d || d.hrp !== IDENTITY_HRP || d.data.length !== 32) throw new AgeError('bad-key', 'not an age X25519 identity (a secret key that starts with AGE-SECRET-KEY-1)');
  return new X25519Identity(x25519PrivateKey(d.data));
}

/**
 * Parses the text of an identity file as age-keygen writes it: `#` comments, blank lines and
 * one `AGE-SECRET-KEY-1…` per line. `where` names the file in errors.
 */
export function parseIdentityFile(text: string, where: string): X25519Identity[] {
  const out: X25519Identity[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    try {
      out.push(parseIdentity(t));
    } catch {
      throw new AgeError('bad-key', `${where} line ${i + 1} is not an age identity (AGE-SECRET-KEY-1…); the line is not shown because it may be secret.`);
    }
  });
  if (out.length === 0) throw new AgeError('bad-key', `${where} holds no age identity (a line starting with AGE-SECRET-KEY-1).`);
  return out;
}

/** Parses a recipients file: one `age1…` per line, `#` comments and blank lines ignored. */
export function parseRecipientsFile(text: string, where: string): X25519Recipient[] {
  const out: X25519Recipient[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    try {
      out.push(parseRecipient(t));
    } catch (err) {
      throw new AgeError('bad-key', `${where} line ${i + 1}: ${(err as Error).message}`);
    }
  });
  if (out.length === 0) throw new AgeError('bad-key', `${where} holds no age recipient (a line starting with age1).`);
  return out;
}

/** A new key pair; `fileText` is what age-keygen would write (the only place the secret appears). */
export function generateIdentity(now = new Date()): { identity: X25519Identity; recipient: string; fileText: string } {
  const { privateKey } = generateKeyPairSync('x25519');
  const identity = new X25519Identity(privateKey);
  const secret = bech32Encode(IDENTITY_HRP, rawPrivateKey(privateKey)).toUpperCase();
  const fileText = `# created: ${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n# public key: ${identity.recipient}\n${secret}\n`;
  return { identity, recipient: identity.recipient, fileText };
}

export function newFileKey(): Buffer {
  return randomBytes(16);
}
