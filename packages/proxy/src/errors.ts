/**
 * The error catalog of @cloudproxy/proxy: the refusal codes clients see in JSON error bodies, and
 * the option error thrown at construction.
 * @module
 */

/** A refusal code: the stable `error.code` of a JSON error answered by the proxy. */
export type ProxyErrorCode =
  | 'bad-path'
  | 'not-found'
  | 'host-not-allowed'
  | 'port-not-allowed'
  | 'private-address'
  | 'redirect-not-allowed'
  | 'too-many-redirects'
  | 'body-too-large'
  | 'headers-too-large'
  | 'rate-limited'
  | 'too-many-connections'
  | 'upstream-timeout'
  | 'upstream-tls'
  | 'upstream-unreachable';

/** One entry of {@link PROXY_ERROR_CODES}: the HTTP status answered and what the code means. */
export interface ProxyErrorCodeEntry {
  readonly code: ProxyErrorCode;
  readonly status: number;
  readonly description: string;
}

/** Every refusal code with its HTTP status and a one-line description (rendered into the docs). */
export const PROXY_ERROR_CODES: readonly ProxyErrorCodeEntry[] = [
  {
    code: 'bad-path',
    status: 400,
    description:
      'The path is not `/{host[:port]}/{path}`: malformed host, port or IP literal, or an all-numeric name.',
  },
  {
    code: 'not-found',
    status: 404,
    description:
      'The path is not a proxy path at all (standalone server, or middleware without `next`).',
  },
  {
    code: 'host-not-allowed',
    status: 403,
    description:
      'The upstream host matches no allowlist entry (exact host, IP literal or `*.domain`).',
  },
  {
    code: 'port-not-allowed',
    status: 403,
    description: 'The upstream port is not in the allowed ports (default 443).',
  },
  {
    code: 'private-address',
    status: 403,
    description:
      'The upstream resolved to a special-purpose address (loopback, private, link-local, …) that no `allowPrivateUpstream` range opens; checked on every connection.',
  },
  {
    code: 'redirect-not-allowed',
    status: 403,
    description: 'In follow mode, a redirect pointed to a host or port outside the allowlist.',
  },
  {
    code: 'too-many-redirects',
    status: 508,
    description: 'In follow mode, the upstream redirected more than `maxRedirects` times.',
  },
  {
    code: 'body-too-large',
    status: 413,
    description: 'The request body is larger than `limits.maxBodyBytes`.',
  },
  {
    code: 'headers-too-large',
    status: 431,
    description: 'The request headers are larger than `limits.maxHeaderBytes`.',
  },
  {
    code: 'rate-limited',
    status: 429,
    description:
      'The client sent more than `limits.requestsPerMinutePerClient` requests in a minute.',
  },
  {
    code: 'too-many-connections',
    status: 503,
    description:
      'The client has `limits.maxConcurrentPerClient` requests or WebSockets open, or the proxy has `limits.maxWebSockets` WebSockets open.',
  },
  {
    code: 'upstream-timeout',
    status: 504,
    description:
      'The upstream did not connect or answer in time (`connectTimeoutMs`, `responseTimeoutMs`).',
  },
  {
    code: 'upstream-tls',
    status: 502,
    description: 'The TLS handshake with the upstream failed, usually an unverifiable certificate.',
  },
  {
    code: 'upstream-unreachable',
    status: 502,
    description: 'The upstream could not be resolved or connected to, or broke the connection.',
  },
];

const STATUS_BY_CODE = new Map(PROXY_ERROR_CODES.map((entry) => [entry.code, entry.status]));

/** The HTTP status of a refusal code. */
export function statusOf(code: ProxyErrorCode): number {
  return STATUS_BY_CODE.get(code) ?? 500;
}

/**
 * ProxyRefusal is a refusal decided by the proxy (an allowlist, address, limit or upstream failure),
 * carried through undici and ws callbacks until it is answered as a JSON error.
 */
export class ProxyRefusal extends Error {
  /** Stable refusal code, sent to the client as `error.code`. */
  readonly refusal: ProxyErrorCode;
  /** Node-style error code (`ERR_PROXY_<CODE>`), for logs and `err.code` matching. */
  readonly code: string;

  constructor(refusal: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProxyRefusal';
    this.refusal = refusal;
    this.code = `ERR_PROXY_${refusal.toUpperCase().replace(/-/g, '_')}`;
  }
}

/** True for a {@link ProxyRefusal}, matched by shape so that it survives wrapping and realms. */
export function isProxyRefusal(error: unknown): error is ProxyRefusal {
  if (!(error instanceof Error)) return false;
  const refusal: unknown = (error as { refusal?: unknown }).refusal;
  return typeof refusal === 'string' && STATUS_BY_CODE.has(refusal as ProxyErrorCode);
}

/**
 * InvalidProxyOptionError is thrown at construction when an option is malformed or inconsistent.
 * Message: `<option>: <reason>`, naming what was received.
 */
export class InvalidProxyOptionError extends Error {
  /** Always `ERR_PROXY_INVALID_OPTION`. */
  readonly code = 'ERR_PROXY_INVALID_OPTION';
  constructor(option: string, reason: string) {
    super(`${option}: ${reason}`);
    this.name = 'InvalidProxyOptionError';
  }
}

/** The thrown error codes of this package (rendered into docs/errors.md with the other catalogs). */
export const PROXY_THROWN_ERROR_CODES: readonly { code: string; description: string }[] = [
  {
    code: 'ERR_PROXY_INVALID_OPTION',
    description:
      'A signaling proxy option is malformed or inconsistent (allowlist pattern, CIDR, CORS with `*` and credentials); thrown at construction.',
  },
];

/** The JSON body of a refusal: `{ "error": { "code", "message" } }`. */
export function errorBody(code: ProxyErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}
