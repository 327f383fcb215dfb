/**
 * CORS answered by the proxy: preflights never reach upstreams, and every response (proxied or a
 * proxy error) carries the same `Access-Control-*` headers for an allowed origin.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidProxyOptionError } from './errors.js';
import type { CorsOptions } from './options.js';

/** Resolved CORS policy. */
export interface CorsPolicy {
  /**
   * Headers for an actual (non-preflight) response to a request from `origin`. Read-only: the
   * same frozen object is shared by every request whose answer does not echo its origin.
   */
  responseHeaders(origin: string | undefined): Readonly<Record<string, string>>;
  /** The full answer to a preflight: status and headers. */
  preflight(headers: IncomingHttpHeaders): { status: number; headers: Record<string, string> };
  /** True if `upstreamHeader` (lowercase) is a CORS header the proxy owns and replaces. */
  readonly ownsHeader: (upstreamHeader: string) => boolean;
}

/** The CORS headers of a request without a CORS policy: none, one shared frozen object. */
export const NO_CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Default `Access-Control-Max-Age`: 10 minutes (Chromium caps it at 2 hours). */
const DEFAULT_MAX_AGE_S = 600;
const ORIGIN_SYNTAX = /^https?:\/\/[^/?#\s]+$/i;

/** True for a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`. */
export function isPreflight(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  return (
    method === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

/**
 * Builds the CORS policy. Origins are exact (`https://app.example.com`) or `*`.
 * @throws InvalidProxyOptionError for a malformed origin, or `*` with `credentials` (browsers
 *   reject that combination, and reflecting every origin with credentials would be unsafe).
 */
export function createCorsPolicy(options: CorsOptions): CorsPolicy {
  const wildcard = options.origins.includes('*');
  const credentials = options.credentials ?? false;
  if (wildcard && credentials) {
    throw new InvalidProxyOptionError('cors', "origin '*' cannot be combined with credentials");
  }
  options.origins.forEach((origin, i) => {
    if (origin !== '*' && !ORIGIN_SYNTAX.test(origin)) {
      throw new InvalidProxyOptionError(
        `cors.origins[${i}]`,
        `'${origin}' is not scheme://host[:port]`,
      );
    }
  });
  const origins = new Set(options.origins.map((o) => o.toLowerCase()));
  const methods = (options.methods ?? DEFAULT_METHODS).map((m) => m.toUpperCase()).join(', ');
  const allowHeaders = options.headers?.join(', ');
  const expose = options.exposeHeaders?.join(', ');
  const maxAge = String(options.maxAgeS ?? DEFAULT_MAX_AGE_S);

  /** No `Origin`, or one not allowed: the same answer every time, built once. */
  const notAllowed: Readonly<Record<string, string>> = Object.freeze({ vary: 'Origin' });
  const allowedHeaders = (allowOrigin: string): Record<string, string> => {
    const headers: Record<string, string> = {
      vary: 'Origin',
      'access-control-allow-origin': allowOrigin,
    };
    if (credentials) headers['access-control-allow-credentials'] = 'true';
    if (expose !== undefined) headers['access-control-expose-headers'] = expose;
    return headers;
  };
  /** With `*` the answer does not depend on the origin either. */
  const wildcardHeaders = Object.freeze(allowedHeaders('*'));

  const responseHeaders = (origin: string | undefined): Readonly<Record<string, string>> => {
    if (origin === undefined) return notAllowed;
    if (wildcard) return wildcardHeaders;
    return origins.has(origin.toLowerCase()) ? allowedHeaders(origin) : notAllowed;
  };

  return {
    responseHeaders,
    preflight: (request) => {
      const origin = request.origin;
      const headers = { ...responseHeaders(origin) };
      headers['vary'] = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
      if (headers['access-control-allow-origin'] === undefined) return { status: 204, headers };
      delete headers['access-control-expose-headers'];
      headers['access-control-allow-methods'] = methods;
      const requested = request['access-control-request-headers'];
      const allowed = allowHeaders ?? requested;
      if (allowed !== undefined && allowed !== '')
        headers['access-control-allow-headers'] = allowed;
      headers['access-control-max-age'] = maxAge;
      headers['content-length'] = '0';
      return { status: 204, headers };
    },
    ownsHeader: (name) => name.startsWith('access-control-'),
  };
}
