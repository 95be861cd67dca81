// age's hybrid post-quantum recipient type (c2sp.org/age, "mlkem768x25519", age ≥ 1.3): the file
// key is sealed with HPKE (RFC 9180) base mode, KEM MLKEM768-X25519 (X-Wing, id 0x647a),
// HKDF-SHA256 and ChaCha20-Poly1305, info "age-encryption.org/mlkem768x25519", empty aad.
// The KEM is @noble/post-quantum's; the HPKE key schedule is the few lines below, on node:crypto.

import { createHmac } from 'node:crypto';
import { ml_kem768_x25519 as xwing } from '@noble/post-quantum/hybrid.js';
import { open, seal } from './primitives.js';

export const PQ_STANZA = 'mlkem768x25519';
const INFO = Buffer.from('age-encryption.org/mlkem768x25519');
/** "HPKE" ‖ KEM 0x647a ‖ KDF 0x0001 (HKDF-SHA256) ‖ AEAD 0x0003 (ChaCha20-Poly1305). */
const SUITE_ID = Buffer.from('48504b45647a00010003', 'hex');
const HPKE_V1 = Buffer.from('HPKE-v1');
const EMPTY = Buffer.alloc(0);

/** Byte lengths: a recipient's public key, an identity's seed, the stanza's encapsulated key. */
export const PQ_PUBLIC_KEY = xwing.lengths.publicKey!;
export const PQ_SEED = xwing.lengths.seed!;
export const PQ_ENC = xwing.lengths.cipherText!;

const hmac = (key: Uint8Array, ...data: Uint8Array[]) =>
  data.reduce((h, d) => h.update(d), createHmac('sha256', key)).digest();
const labeledExtract = (salt: Uint8Array, label: string, ikm: Uint8Array) =>
  hmac(salt, HPKE_V1, SUITE_ID, Buffer.from(label), ikm);
/** HKDF-Expand for one block (L ≤ 32), which is all the key schedule asks for. */
function labeledExpand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Buffer {
  const l = Buffer.of(length >> 8, length & 0xff);
  return hmac(prk, l, HPKE_V1, SUITE_ID, Buffer.from(label), info, Buffer.of(1)).subarray(0, length);
}

/** RFC 9180 KeySchedule in base mode (no PSK): the AEAD key and the nonce of the first (only) message. */
function keySchedule(sharedSecret: Uint8Array): { key: Buffer; nonce: Buffer } {
  const context = Buffer.concat([
    Buffer.of(0),
    labeledExtract(EMPTY, 'psk_id_hash', EMPTY),
    labeledExtract(EMPTY, 'info_hash', INFO),
  ]);
  const secret = labeledExtract(sharedSecret, 'secret', EMPTY);
  return { key: labeledExpand(secret, 'key', context, 32), nonce: labeledExpand(secret, 'base_nonce', context, 12) };
}

/** SealBase of the file key to a recipient's public key: the stanza's enc argument and its body. */
export function pqWrap(fileKey: Uint8Array, publicKey: Uint8Array): { enc: Buffer; body: Buffer } {
  const { cipherText, sharedSecret } = xwing.encapsulate(publicKey);
  const { key, nonce } = keySchedule(sharedSecret);
  return { enc: Buffer.from(cipherText), body: seal(key, nonce, fileKey) };
}

/**
 * OpenBase with an identity's seed: the file key, or undefined when the stanza is not for this
 * identity (ML-KEM's implicit rejection gives another secret, so the AEAD fails). Throws for an
 * X25519 share whose shared secret is all zero (low order), which age treats as a bad header.
 */
export function pqUnwrap(enc: Uint8Array, body: Uint8Array, seed: Uint8Array): Buffer | undefined {
  const { key, nonce } = keySchedule(xwing.decapsulate(enc, seed));
  return open(key, nonce, body);
}

/** A new identity's seed and its public key. */
export function pqKeyPair(seed?: Uint8Array): { seed: Buffer; publicKey: Buffer } {
  const { secretKey, publicKey } = xwing.keygen(seed);
  return { seed: Buffer.from(secretKey), publicKey: Buffer.from(publicKey) };
}
