/**
 * Stateless nonces: an expiry time and an HMAC over it and the client's IP, so that no nonce
 * table is kept and a nonce is useless from another address. RFC 8489 §9.2 (long-term credentials).
 * @module
 */
import type { StunCrypto } from '@cloudproxy/stun';

/** Nonce cookie prefix announcing STUN security features. RFC 8489 §9.2. */
export const NONCE_COOKIE = 'obMatJos2';
/**
 * Security feature set, 24 bits base64-encoded: bit 0 (the most significant) "password algorithms",
 * bit 1 "username anonymity" both set → 0xC00000. RFC 8489 §18.1.
 */
export const NONCE_FEATURES = 'wAAA';
const EXPIRY_BYTES = 6;
const MAC_BYTES = 12;
const encoder = new TextEncoder();

/** The outcome of checking a nonce. */
export type NonceCheck = 'valid' | 'stale' | 'invalid';

/** NonceIssuer issues and checks stateless nonces bound to a client IP. */
export class NonceIssuer {
  readonly #secret: Uint8Array;
  readonly #lifetimeMs: number;
  readonly #crypto: StunCrypto;
  /** {@link #mac}'s input: room for the longest IPv6 text (45 characters, with an IPv4 tail). */
  readonly #input = new Uint8Array(new ArrayBuffer(EXPIRY_BYTES + 64));

  constructor(options: { secret: Uint8Array; lifetimeS: number; crypto: StunCrypto }) {
    this.#secret = options.secret;
    this.#lifetimeMs = options.lifetimeS * 1000;
    this.#crypto = options.crypto;
  }

  /** Issues a nonce valid for the configured lifetime from `nowMs`, for `clientIp`. */
  issue(clientIp: string, nowMs: number): string {
    const body = new Uint8Array(EXPIRY_BYTES + MAC_BYTES);
    writeUint48(body, nowMs + this.#lifetimeMs);
    body.set(this.#mac(body.subarray(0, EXPIRY_BYTES), clientIp), EXPIRY_BYTES);
    return NONCE_COOKIE + NONCE_FEATURES + toBase64Url(body);
  }

  /** Checks a nonce received from `clientIp`: 'stale' when expired, 'invalid' when forged or foreign. */
  check(nonce: string, clientIp: string, nowMs: number): NonceCheck {
    const prefix = NONCE_COOKIE + NONCE_FEATURES;
    if (!nonce.startsWith(prefix)) return 'invalid';
    const body = fromBase64Url(nonce.slice(prefix.length));
    if (body?.length !== EXPIRY_BYTES + MAC_BYTES) return 'invalid';
    const expected = this.#mac(body.subarray(0, EXPIRY_BYTES), clientIp);
    if (!constantTimeEqual(expected, body.subarray(EXPIRY_BYTES))) return 'invalid';
    return readUint48(body) > nowMs ? 'valid' : 'stale';
  }

  #mac(expiry: Uint8Array, clientIp: string): Uint8Array {
    // The expiry and the IP's text, written into one array kept for every call.
    const input = this.#input;
    input.set(expiry, 0);
    const { read, written } = encoder.encodeInto(clientIp, input.subarray(EXPIRY_BYTES));
    let bytes = input.subarray(0, EXPIRY_BYTES + written);
    if (read < clientIp.length) {
      // Longer than any IP literal (a zone name?): a new array, never a truncated address.
      const ip = encoder.encode(clientIp);
      bytes = new Uint8Array(EXPIRY_BYTES + ip.length);
      bytes.set(expiry, 0);
      bytes.set(ip, EXPIRY_BYTES);
    }
    return this.#crypto.hmacSha256(this.#secret, bytes).subarray(0, MAC_BYTES);
  }
}

/** Compares two byte strings in time independent of where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function writeUint48(target: Uint8Array, value: number): void {
  let v = Math.floor(value);
  for (let i = EXPIRY_BYTES - 1; i >= 0; i--) {
    target[i] = v % 256;
    v = Math.floor(v / 256);
  }
}

function readUint48(source: Uint8Array): number {
  let v = 0;
  for (let i = 0; i < EXPIRY_BYTES; i++) v = v * 256 + (source[i] ?? 0);
  return v;
}

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  return Buffer.from(text, 'base64url');
}
