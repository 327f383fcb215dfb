/**
 * Options of the signaling proxy and of its standalone HTTPS server.
 * @module
 */
import type { Registry } from 'prom-client';

/** A resolved address of an upstream name. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Resolves an upstream host name to its addresses (default: `dns.lookup` with `all: true`). The
 * proxy calls it when it opens a connection, and checks every returned address against the
 * address policy before dialling one; tests inject it to simulate DNS rebinding.
 */
export type UpstreamLookup = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** One access log entry: a finished exchange, or a WebSocket refused upstream or closed. */
export interface AccessLogEntry {
  readonly method: string;
  /** `host[:port]` of the upstream. */
  readonly upstream: string;
  /** The path without its query, which may carry tokens. */
  readonly path: string;
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly client: string;
  /** Whole milliseconds from the request's arrival to its end. */
  readonly durationMs: number;
  readonly websocket?: boolean;
  readonly closeCodes?: { readonly client: number; readonly upstream: number };
}

/** The pino-compatible logger the proxy writes to: fields first, then the message. */
export interface ProxyLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /**
   * Optional fast path of the access log. When present, every access log entry goes here
   * instead of to `info(fields, message)`; a logger can then write it as a fixed-layout line
   * (`formatAccessLine`) without a generic serializer on the proxy's busiest path.
   */
  access?(entry: AccessLogEntry): void;
}

/** CORS answered by the proxy itself (preflights and headers on every response). */
export interface CorsOptions {
  /** Allowed origins (`https://app.example.com`), or `*` (never together with `credentials`). */
  readonly origins: readonly string[];
  /** Methods allowed by preflights; default GET, HEAD, POST, PUT, PATCH, DELETE. */
  readonly methods?: readonly string[] | undefined;
  /** Request headers allowed by preflights; default: whatever the preflight asks for. */
  readonly headers?: readonly string[] | undefined;
  /** Response headers exposed to scripts (`Access-Control-Expose-Headers`). */
  readonly exposeHeaders?: readonly string[] | undefined;
  /** How long browsers may cache a preflight answer, in seconds; default 600. */
  readonly maxAgeS?: number | undefined;
  /** Send `Access-Control-Allow-Credentials: true` (cookies, `Authorization`); default false. */
  readonly credentials?: boolean | undefined;
}

/** Size, time, rate and connection limits. */
export interface ProxyLimits {
  /** Largest request body streamed upstream; default 10 MiB. Larger bodies get 413. */
  readonly maxBodyBytes?: number | undefined;
  /** Largest request head (request line and headers); default 16 KiB. Larger get 431. */
  readonly maxHeaderBytes?: number | undefined;
  /** TCP connect plus TLS handshake with the upstream; default 10 s. */
  readonly connectTimeoutMs?: number | undefined;
  /** Time until the upstream's response headers; default 30 s. */
  readonly responseTimeoutMs?: number | undefined;
  /** Longest silence while a request or response body streams; default 120 s. */
  readonly idleTimeoutMs?: number | undefined;
  /** Requests (and WebSocket upgrades) per client per minute; default 0 = unlimited. */
  readonly requestsPerMinutePerClient?: number | undefined;
  /** Requests and WebSockets open at once per client; default 0 = unlimited. */
  readonly maxConcurrentPerClient?: number | undefined;
  /** WebSockets open at once on this proxy; default 10000. */
  readonly maxWebSockets?: number | undefined;
}

/** Options of {@link createSignalingProxy}. */
export interface SignalingProxyOptions {
  /** Allowed upstream hosts: exact host names, IP literals and `*.domain` suffixes. Default deny. */
  readonly allowHosts: readonly string[];
  /** Named host lists added to `allowHosts` (see `PRESETS`), e.g. `['calling-vendors']`. */
  readonly presets?: readonly string[] | undefined;
  /** Allowed upstream ports; default [443]. */
  readonly allowPorts?: readonly number[] | undefined;
  /** Extra CA certificates (PEM) trusted for upstreams, added to the system's. */
  readonly upstreamCa?: string | Buffer | undefined;
  /** Special-purpose ranges (CIDR) upstreams may resolve to, e.g. `10.0.0.0/8` for private ones. */
  readonly allowPrivateUpstream?: readonly string[] | undefined;
  /** CORS answered by the proxy; unset = no CORS handling (preflights go upstream). */
  readonly cors?: CorsOptions | undefined;
  /** Reverse proxies in front of this one (CIDRs) whose X-Forwarded-* values are trusted. */
  readonly trustedProxies?: readonly string[] | undefined;
  /** Redirects: `pass` (default) rewrites `Location` for the client; `follow` follows them. */
  readonly redirects?: 'pass' | 'follow' | undefined;
  /** Most redirects followed per request in `follow` mode; default 5. */
  readonly maxRedirects?: number | undefined;
  /** Limits; see {@link ProxyLimits} for the defaults. */
  readonly limits?: ProxyLimits | undefined;
  /** Where refusals, errors and the access log go; default: nowhere. */
  readonly logger?: ProxyLogger | undefined;
  /** prom-client registry for the metrics (prefix `cloudproxy_proxy_`); default: a private one. */
  readonly registry?: Registry | undefined;
  /** DNS resolution of upstream names (tests inject it). */
  readonly lookup?: UpstreamLookup | undefined;
  /** The pseudonym added to `Via` headers; default `cloudproxy`. */
  readonly via?: string | undefined;
}

/** Certificate chain and private key (PEM) of a TLS listener. */
export interface TlsCredentials {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Options of {@link createProxyServer}: the proxy's plus where and how to listen. */
export interface ProxyServerOptions extends SignalingProxyOptions {
  /** Address and port to listen on (port 0 picks a free one). */
  readonly listen: { readonly host: string; readonly port: number };
  /** The server's certificate and key. */
  readonly tls: TlsCredentials;
}
