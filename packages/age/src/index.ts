// age v1 (https://age-encryption.org/v1) on node:crypto: X25519, scrypt and hybrid post-quantum
// (mlkem768x25519) stanzas, HKDF-SHA256, HMAC header, ChaCha20-Poly1305 STREAM payload.
// Interoperates with the age CLI both ways (post-quantum files: age ≥ 1.3).
export { AgeError, AgeErrorCode, type AgeFailure } from './errors.js';
export { checkRecipientMix, DEFAULT_SCRYPT_LOG_N } from './header.js';
export {
  type AgeIdentity,
  type AgeRecipient,
  encodeRecipient,
  type NativeRecipient,
  generateIdentity,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
  parseRecipientsFile,
  PQIdentity,
  type PQRecipient,
  type ScryptKey,
  X25519Identity,
  type X25519Recipient,
} from './keys.js';
export { AgeDecryptStream, AgeEncryptStream, CHUNK, decryptBuffer, encryptBuffer } from './stream.js';
export { type OpenedChunks, openChunks } from './salvage.js';
