import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  scrypt,
} from 'node:crypto';

// DER wrappers that turn 32 raw X25519 bytes into keys node:crypto accepts (RFC 8410).
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

export const ZERO_NONCE = Buffer.alloc(12);

export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
}

export function x25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
}

/** The 32 raw bytes of an X25519 public key (of a private key, its public half). */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return (pub.export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32);
}

export function rawPrivateKey(key: KeyObject): Buffer {
  return (key.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(-32);
}

/** X25519 shared secret, or undefined for a low-order point (all-zero output). */
export function x25519(privateKey: KeyObject, publicRaw: Uint8Array): Buffer | undefined {
  try {
    const shared = diffieHellman({ privateKey, publicKey: x25519PublicKey(publicRaw) });
    return shared.some((b) => b !== 0) ? shared : undefined;
  } catch {
    return undefined;
  }
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  const out = c.update(plaintext);
  c.final();
  return Buffer.concat([out, c.getAuthTag()]);
}

/** Decrypts and authenticates; undefined when the tag does not match. */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const out = d.update(sealed.subarray(0, sealed.length - 16));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return out;
}

export function scryptKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(Buffer.from(passphrase, 'utf8'), salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 + (1 << 20) }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Unpadded standard base64, as the age header uses it. */
export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** Strict unpadded base64: undefined for padding, stray characters or non-canonical trailing bits. */
export function unb64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return b64(bytes) === text ? bytes : undefined;
}
