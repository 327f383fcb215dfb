/**
 * The HTTP client side: an undici `Agent` pooling keep-alive TLS connections to upstreams, whose
 * connector checks the dialled address (IP literals directly, names through the guarded lookup).
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import { Agent, buildConnector } from 'undici';
import type { AddressGuard } from './address-guard.js';

/** Options of {@link createUpstreamAgent}. */
export interface UpstreamAgentOptions {
  readonly guard: AddressGuard;
  /** TLS context with the trusted CAs, from {@link upstreamSecureContext}; undefined = Node's. */
  readonly secureContext: tls.SecureContext | undefined;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** How long an idle pooled upstream connection is kept (undici caps it by the server's hint). */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

/**
 * The TLS context for upstreams: the system's root certificates plus `extra`, built once and
 * shared by every connection (building one per connection parses every root certificate again,
 * which costs milliseconds per handshake). Undefined means Node's default context.
 */
export function upstreamSecureContext(
  extra: string | Buffer | undefined,
): tls.SecureContext | undefined {
  if (extra === undefined) return undefined;
  return tls.createSecureContext({ ca: [...tls.rootCertificates, extra.toString()] });
}

/**
 * Creates the upstream agent: certificates verified (`rejectUnauthorized`), SNI and `Host` set to
 * the upstream name (undici derives both from the origin), TLS sessions reused, and every new
 * connection's address checked by `guard` right before it is dialled.
 */
export function createUpstreamAgent(options: UpstreamAgentOptions): Agent {
  const { secureContext } = options;
  const inner = buildConnector({
    ...(secureContext === undefined ? {} : { secureContext }),
    rejectUnauthorized: true,
    timeout: options.connectTimeoutMs,
    lookup: options.guard.netLookup,
  });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    const hostname = stripBrackets(connectOptions.hostname);
    if (net.isIP(hostname) !== 0) {
      // IP literals never go through `lookup`: check them here.
      try {
        options.guard.checkLiteral(hostname, connectOptions.hostname);
      } catch (error) {
        callback(error as Error, null);
        return;
      }
    }
    inner({ ...connectOptions, hostname }, callback);
  };
  return new Agent({
    connect,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: options.responseTimeoutMs,
    bodyTimeout: options.idleTimeoutMs,
  });
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
