/**
 * The TLS policy of every listener cloudproxy runs (TURN over TLS, the shared HTTPS port, the
 * signaling proxy, the API server): TLS 1.2 or 1.3 only, and for TLS 1.2 only ECDHE key exchange
 * with AEAD ciphers (forward secrecy, no CBC, no SHA-1 MAC, no static RSA). TLS 1.3 suites are
 * Node's defaults, all modern. RFC 9325 §4.1-4.2 (recommendations for secure use of TLS).
 * @module
 */
import type tls from 'node:tls';

/** The TLS 1.2 cipher suites accepted, in preference order (OpenSSL names). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Secure-context options every listener spreads into its `tls.createServer`/`setSecureContext`. */
export const TLS_SERVER_POLICY = {
  minVersion: 'TLSv1.2',
  ciphers: TLS12_CIPHERS,
  honorCipherOrder: true,
} as const satisfies tls.SecureContextOptions;

/** `context` with the TLS policy applied (the policy wins over anything it sets). */
export function withTlsPolicy<T extends tls.SecureContextOptions>(
  context: T,
): T & typeof TLS_SERVER_POLICY {
  return { ...context, ...TLS_SERVER_POLICY };
}
