/**
 * StunCrypto for Node.js, backed by node:crypto (the codec itself stays browser-safe).
 * @module
 */
import { createHash, createHmac } from 'node:crypto';
import type { StunCrypto } from './types.js';

/** A plain Uint8Array over a Buffer's bytes (no copy), so results compare equal to Uint8Arrays. */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * The hash primitives of STUN (HMAC-SHA1, HMAC-SHA256, MD5, SHA-256) from node:crypto.
 * Import from `@cloudproxy/stun/node-crypto`. RFC 8489 §14.5-14.6, §9.2.2.
 */
export const nodeStunCrypto: StunCrypto = {
  hmacSha1: (key, data) => plain(createHmac('sha1', key).update(data).digest()),
  hmacSha256: (key, data) => plain(createHmac('sha256', key).update(data).digest()),
  md5: (data) => plain(createHash('md5').update(data).digest()),
  sha256: (data) => plain(createHash('sha256').update(data).digest()),
};
