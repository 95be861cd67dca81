import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AgeError } from './errors.js';
import type { AgeIdentity, AgeRecipient } from './keys.js';
import { PQ_ENC, PQ_STANZA, pqUnwrap, pqWrap } from './pq.js';
import { b64, hkdf, hmacSha256, open, rawPublicKey, scryptKey, seal, unb64, x25519, ZERO_NONCE } from './primitives.js';

export const VERSION_LINE = 'age-encryption.org/v1';
const X25519_INFO = 'age-encryption.org/v1/X25519';
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
/** Refuse to spend more than this on someone else's scrypt stanza (age's own limit is 22). */
const MAX_SCRYPT_LOG_N = 22;
export const DEFAULT_SCRYPT_LOG_N = 18;
/** A header larger than this is not a header (keeps a non-age blob from being buffered whole). */
export const MAX_HEADER_BYTES = 64 * 1024;

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The header bytes up to and including `---`, which the MAC covers. */
  macInput: Buffer;
  mac: Buffer;
  /** Bytes of the whole header including the MAC line. */
  length: number;
}

async function wrap(fileKey: Buffer, r: AgeRecipient): Promise<Stanza> {
  if (r.type === 'scrypt') {
    const salt = randomBytes(16);
    const logN = r.logN ?? DEFAULT_SCRYPT_LOG_N;
    const key = await scryptKey(r.passphrase, Buffer.concat([Buffer.from(SCRYPT_LABEL), salt]), logN);
    return { type: 'scrypt', args: [b64(salt), String(logN)], body: seal(key, ZERO_NONCE, fileKey) };
  }
  if (r.type === PQ_STANZA) {
    let wrapped: { enc: Buffer; body: Buffer };
    try {
      wrapped = pqWrap(fileKey, r.publicKey);
    } catch {
      throw new AgeError('bad-key', `${r.text.slice(0, 40)}… is not a usable post-quantum public key.`);
    }
    return { type: PQ_STANZA, args: [b64(wrapped.enc)], body: wrapped.body };
  }
  const eph = generateKeyPairSync('x25519');
  const share = rawPublicKey(eph.publicKey);
  const shared = x25519(eph.privateKey, r.publicKey);
  if (!shared) throw new AgeError('bad-key', `${r.text} is not a usable X25519 public key.`);
  const key = hkdf(shared, Buffer.concat([share, r.publicKey]), X25519_INFO);
  return { type: 'X25519', args: [b64(share)], body: seal(key, ZERO_NONCE, fileKey) };
}

/**
 * The recipients one age file may have: a passphrase only alone, and post-quantum recipients only
 * with each other (c2sp.org/age: an X25519 stanza beside them would leave the file open to a
 * quantum attacker; age ≥ 1.3 refuses the mix with "can't mix post-quantum and classic recipients").
 */
export function checkRecipientMix(recipients: readonly AgeRecipient[]): void {
  if (recipients.some((r) => r.type === 'scrypt') && recipients.length > 1)
    throw new AgeError('bad-key', 'a passphrase cannot be combined with other recipients in one age file');
  const pq = recipients.filter((r) => r.type === PQ_STANZA).length;
  if (pq > 0 && pq < recipients.length)
    throw new AgeError(
      'mixed-recipients',
      'post-quantum recipients (age1pq1…) cannot be mixed with classic X25519 ones (age1…) in one age file: ' +
        'the classic stanza would open the file to a future quantum attacker',
    );
}

/** The full header for a new file key: version line, one stanza per recipient, MAC. */
export async function buildHeader(fileKey: Buffer, recipients: readonly AgeRecipient[]): Promise<Buffer> {
  if (recipients.length === 0) throw new AgeError('bad-key', 'no recipients to encrypt to');
  checkRecipientMix(recipients);
  let text = `${VERSION_LINE}\n`;
  for (const r of recipients) {
    const s = await wrap(fileKey, r);
    const body = b64(s.body);
    const lines: string[] = [];
    for (let i = 0; i < body.length; i += 64) lines.push(body.slice(i, i + 64));
    if (body.length % 64 === 0) lines.push('');
    text += `-> ${[s.type, ...s.args].join(' ')}\n${lines.join('\n')}\n`;
  }
  text += '---';
  const mac = hmacSha256(hkdf(fileKey, Buffer.alloc(0), 'header'), Buffer.from(text));
  return Buffer.from(`${text} ${b64(mac)}\n`);
}

/**
 * Parses a header at the start of `buf`. Returns undefined when more bytes are needed, and
 * throws bad-header when the bytes cannot be an age v1 header.
 */
export function parseHeader(buf: Buffer): ParsedHeader | undefined {
  const bad = (why: string) => new AgeError('bad-header', `not a valid age file: ${why}`);
  let pos = 0;
  const line = (): string | undefined => {
    const nl = buf.indexOf(10, pos);
    if (nl === -1) {
      if (buf.length > MAX_HEADER_BYTES) throw bad('no header end within 64 KiB');
      return undefined;
    }
    const l = buf.toString('latin1', pos, nl);
    pos = nl + 1;
    return l;
  };
  const first = line();
  if (first === undefined) {
    if (buf.length >= VERSION_LINE.length && !buf.toString('latin1', 0, VERSION_LINE.length).startsWith(VERSION_LINE))
      throw bad('it does not start with the age v1 version line');
    return undefined;
  }
  if (first !== VERSION_LINE) throw bad('it does not start with the age v1 version line');
  const stanzas: Stanza[] = [];
  for (;;) {
    const start = pos;
    const l = line();
    if (l === undefined) return undefined;
    if (l.startsWith('--- ')) {
      const mac = unb64(l.slice(4));
      if (mac?.length !== 32) throw bad('malformed MAC line');
      if (stanzas.length === 0) throw bad('no recipient stanzas');
      return { stanzas, macInput: buf.subarray(0, start + 3), mac, length: pos };
    }
    if (!l.startsWith('-> ')) throw bad('malformed stanza line');
    const args = l.slice(3).split(' ');
    if (args.some((a) => a.length === 0 || !/^[\x21-\x7e]+$/.test(a))) throw bad('malformed stanza arguments');
    const parts: Buffer[] = [];
    for (;;) {
      const b = line();
      if (b === undefined) return undefined;
      if (b.length > 64) throw bad('stanza body line longer than 64 columns');
      const bytes = unb64(b);
      if (!bytes) throw bad('stanza body is not canonical base64');
      parts.push(bytes);
      if (b.length < 64) break;
    }
    stanzas.push({ type: args[0]!, args: args.slice(1), body: Buffer.concat(parts) });
  }
}

async function unwrap(s: Stanza, id: AgeIdentity): Promise<Buffer | undefined> {
  if (id.type === 'X25519' && s.type === 'X25519') {
    if (s.args.length !== 1 || s.body.length !== 32)
      throw new AgeError('bad-header', 'not a valid age file: malformed X25519 stanza');
    const share = unb64(s.args[0]!);
    if (share?.length !== 32) throw new AgeError('bad-header', 'not a valid age file: malformed X25519 stanza');
    const shared = x25519(id.secret, share);
    // age v1: an all-zero shared secret (a low-order share) is fatal for the whole header, not "not mine".
    if (!shared) throw new AgeError('bad-header', 'not a valid age file: an X25519 stanza has a low-order share');
    return open(hkdf(shared, Buffer.concat([share, id.publicKey]), X25519_INFO), ZERO_NONCE, s.body);
  }
  if (id.type === PQ_STANZA && s.type === PQ_STANZA) {
    const enc = unb64(s.args[0] ?? '');
    if (s.args.length !== 1 || enc?.length !== PQ_ENC || s.body.length !== 32)
      throw new AgeError('bad-header', 'not a valid age file: malformed mlkem768x25519 stanza');
    try {
      return pqUnwrap(enc, s.body, id.secret.export());
    } catch {
      // age v1: as with X25519, an all-zero X25519 share of the hybrid KEM fails the whole header.
      throw new AgeError('bad-header', 'not a valid age file: an mlkem768x25519 stanza has a low-order X25519 share');
    }
  }
  if (id.type === 'scrypt' && s.type === 'scrypt') {
    const salt = unb64(s.args[0] ?? '');
    const logN = s.args[1] ?? '';
    if (s.args.length !== 2 || !salt || salt.length !== 16 || !/^[1-9][0-9]*$/.test(logN) || s.body.length !== 32)
      throw new AgeError('bad-header', 'not a valid age file: malformed scrypt stanza');
    if (Number(logN) > MAX_SCRYPT_LOG_N)
      throw new AgeError('bad-header', `the passphrase work factor 2^${logN} is above the limit 2^${MAX_SCRYPT_LOG_N}`);
    const key = await scryptKey(id.passphrase, Buffer.concat([Buffer.from(SCRYPT_LABEL), salt]), Number(logN));
    return open(key, ZERO_NONCE, s.body);
  }
  return undefined;
}

/** Finds the file key with the first identity that unwraps a stanza, then checks the MAC. */
export async function unlockHeader(header: ParsedHeader, identities: readonly AgeIdentity[]): Promise<Buffer> {
  const types = header.stanzas.map((s) => s.type);
  if (types.includes('scrypt') && header.stanzas.length > 1)
    throw new AgeError('bad-header', 'not a valid age file: a scrypt stanza must be the only one');
  let fileKey: Buffer | undefined;
  outer: for (const id of identities)
    for (const s of header.stanzas) {
      fileKey = await unwrap(s, id);
      if (fileKey) break outer;
    }
  if (fileKey?.length !== 16) {
    const passphrase = types.includes('scrypt') && identities.some((i) => i.type === 'scrypt');
    throw new AgeError(
      passphrase ? 'bad-passphrase' : 'no-identity-matched',
      passphrase ? 'the passphrase does not open it' : 'none of the identities opens it',
      [...new Set(types)],
    );
  }
  const mac = hmacSha256(hkdf(fileKey, Buffer.alloc(0), 'header'), header.macInput);
  if (!timingSafeEqual(mac, header.mac))
    throw new AgeError('bad-mac', 'the age header was altered (its MAC does not match)');
  return fileKey;
}
