// age v1 (https://age-encryption.org/v1) on node:crypto: X25519 and scrypt stanzas, HKDF-SHA256,
// HMAC header, ChaCha20-Poly1305 STREAM payload. Interoperates with the age CLI both ways.
export { AgeError, AgeErrorCode, type AgeFailure } from './errors.js';
export { DEFAULT_SCRYPT_LOG_N } from './header.js';
export {
  type AgeIdentity,
  type AgeRecipient,
  encodeRecipient,
  generateIdentity,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
  parseRecipientsFile,
  type ScryptKey,
  X25519Identity,
  type X25519Recipient,
} from './keys.js';
export { AgeDecryptStream, AgeEncryptStream, CHUNK, decryptBuffer, encryptBuffer } from './stream.js';
export { type OpenedChunks, openChunks } from './salvage.js';
