/**
 * Classification of upstream failures (undici, ws, Node net/tls errors) into refusal codes.
 * @module
 */
import { ProxyRefusal, isProxyRefusal } from './errors.js';

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** OpenSSL verification failures as Node reports them (`err.code`). */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True for a TLS failure: a verification code, `ERR_TLS_*` or `ERR_SSL_*`. */
function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

/**
 * Turns whatever an upstream attempt failed with into a {@link ProxyRefusal}: refusals pass
 * through (also when wrapped as `cause`), timeouts become `upstream-timeout`, certificate and
 * handshake failures `upstream-tls`, anything else `upstream-unreachable`.
 */
export function classifyUpstreamError(error: unknown, upstream: string): ProxyRefusal {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 4; depth++) {
    if (isProxyRefusal(current)) return current;
    const code = codeOf(current);
    if (code !== undefined && TIMEOUT_CODES.has(code)) {
      return new ProxyRefusal('upstream-timeout', `upstream ${upstream} timed out (${code})`, {
        cause: error,
      });
    }
    if (code !== undefined && isTlsCode(code)) {
      return new ProxyRefusal('upstream-tls', `tls with upstream ${upstream} failed (${code})`, {
        cause: error,
      });
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  const detail = codeOf(error) ?? (error instanceof Error ? error.message : String(error));
  return new ProxyRefusal('upstream-unreachable', `upstream ${upstream} failed (${detail})`, {
    cause: error,
  });
}

/** True for the codes that count as upstream errors in the metrics. */
export function isUpstreamFailure(code: string): boolean {
  return code === 'upstream-timeout' || code === 'upstream-tls' || code === 'upstream-unreachable';
}
