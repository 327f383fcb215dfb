/**
 * Header rewriting in both directions: hop-by-hop headers stripped (RFC 9110 §7.6.1), `Via`
 * added (RFC 9110 §7.6.3), X-Forwarded-* set, `Authorization` and cookies passed through.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientInfo } from './client-address.js';

/**
 * Hop-by-hop headers, never forwarded: RFC 9110 §7.6.1 plus `proxy-connection` (legacy clients)
 * and `expect` (answered by the proxy's own HTTP server, not forwarded).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** Headers the proxy sets itself towards the upstream. */
const SET_BY_PROXY = new Set([
  'host',
  'via',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
]);

/** Handshake headers of a WebSocket upgrade, generated anew on the upstream leg. */
const WEBSOCKET_HANDSHAKE = new Set([
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'sec-websocket-accept',
]);

/** Never copied from the client's request: hop-by-hop headers and those the proxy sets. */
const NOT_FORWARDED_UPSTREAM: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...SET_BY_PROXY]);

/** Request headers that describe a body, dropped when a followed redirect drops the body. */
const BODY_HEADERS: ReadonlySet<string> = new Set(['content-length', 'content-type']);

const NONE_LISTED: ReadonlySet<string> = new Set();

/** Most distinct `Connection` values remembered (`keep-alive`, `close`, `Upgrade`, …). */
const MAX_REMEMBERED_CONNECTION_VALUES = 64;
/** `Connection` value → the names it lists, for the values seen first (bounded). */
const listedByValue = new Map<string, ReadonlySet<string>>();

/** The names a `Connection` value lists, lowercase. */
function parseConnection(value: string): ReadonlySet<string> {
  const listed = new Set<string>();
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') listed.add(name);
  }
  return listed;
}

/**
 * Names listed in `Connection` are hop-by-hop too. Nearly every message carries one of a few
 * values, so the parse of a single value is remembered.
 */
function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return NONE_LISTED;
  if (Array.isArray(value)) return parseConnection(value.join(','));
  let listed = listedByValue.get(value);
  if (listed === undefined) {
    listed = parseConnection(value);
    if (listedByValue.size < MAX_REMEMBERED_CONNECTION_VALUES) listedByValue.set(value, listed);
  }
  return listed;
}

/** Appends our `Via` entry (`1.1 cloudproxy`) to whatever came before. */
export function appendVia(existing: string | string[] | undefined, pseudonym: string): string {
  const own = `1.1 ${pseudonym}`;
  if (existing === undefined || existing.length === 0) return own;
  return `${Array.isArray(existing) ? existing.join(', ') : existing}, ${own}`;
}

/** Options of {@link upstreamRequestHeaders}. */
export interface UpstreamHeaderOptions {
  readonly authority: string;
  readonly client: ClientInfo;
  readonly via: string;
  /** For WebSocket upgrades: drop the handshake headers, which the upstream leg regenerates. */
  readonly websocket?: boolean;
  /** Drop `Authorization` and `Cookie` (a redirect to another host). */
  readonly dropCredentials?: boolean;
  /** Drop `Content-Length` and `Content-Type` (a followed redirect that drops the body). */
  readonly dropBody?: boolean;
}

/**
 * The headers sent upstream, as a flat `[name, value, …]` list that keeps repeated headers:
 * the client's headers minus hop-by-hop ones, then `Host`, `Via` and X-Forwarded-*.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  headers: IncomingHttpHeaders,
  options: UpstreamHeaderOptions,
): string[] {
  const listed = connectionListed(headers.connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (NOT_FORWARDED_UPSTREAM.has(lower) || listed.has(lower)) continue;
    if (options.websocket === true && WEBSOCKET_HANDSHAKE.has(lower)) continue;
    if (options.dropCredentials === true && (lower === 'authorization' || lower === 'cookie')) {
      continue;
    }
    if (options.dropBody === true && BODY_HEADERS.has(lower)) continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  const { client } = options;
  out.push('host', options.authority);
  out.push('via', appendVia(headers.via, options.via));
  out.push('x-forwarded-for', client.forwardedFor);
  out.push('x-forwarded-proto', client.forwardedProto);
  if (client.forwardedHost !== undefined) out.push('x-forwarded-host', client.forwardedHost);
  return out;
}

/** Response headers as undici returns them (lowercase names, repeated ones as arrays). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * The upstream's response headers for the client: hop-by-hop headers and those `skip` claims
 * (CORS headers the proxy replaces) removed, `Via` appended.
 */
export function clientResponseHeaders(
  upstream: ResponseHeaders,
  via: string,
  skip: (name: string) => boolean,
): Record<string, string | string[]> {
  const listed = connectionListed(upstream['connection']);
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || skip(name)) continue;
    out[name] = value;
  }
  out['via'] = appendVia(upstream['via'], via);
  return out;
}

/** Merges `Vary` values so that both the upstream's and the proxy's apply. */
export function mergeVary(a: string | string[] | undefined, b: string): string {
  if (a === undefined) return b;
  return `${Array.isArray(a) ? a.join(', ') : a}, ${b}`;
}
