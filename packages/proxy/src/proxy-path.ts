/**
 * The path scheme: `/{host[:port]}/{path}?{query}` → `https://{host}[:port]/{path}?{query}`.
 * @module
 */
import { formatAuthority, parseHost, parsePort } from './host-syntax.js';
import type { CanonicalHost } from './host-syntax.js';

/** The upstream a proxy path names. */
export interface UpstreamTarget {
  readonly host: CanonicalHost;
  readonly port: number;
  /** `host[:port]` as sent in `Host` (port omitted when 443, IPv6 in brackets). */
  readonly authority: string;
  /** The path and query sent upstream, verbatim (never decoded); starts with `/`. */
  readonly path: string;
}

/** The result of {@link parseProxyPath}. */
export type ParsedProxyPath =
  | { readonly ok: true; readonly target: UpstreamTarget }
  | { readonly ok: false; readonly code: 'not-found' | 'bad-path'; readonly message: string };

/** Default port of `https:`. */
export const HTTPS_PORT = 443;

/** The upstream a proxy path's first segment names, without the rest of the path. */
type ParsedSegment =
  | {
      readonly ok: true;
      readonly host: CanonicalHost;
      readonly port: number;
      readonly authority: string;
    }
  | Extract<ParsedProxyPath, { ok: false }>;

/**
 * Parses a request target into the upstream it names. The first path segment is the upstream
 * `host[:port]`; it is a proxy path only if that host contains a dot, is an IP literal (IPv6 in
 * brackets) or is a dotless name for which `isExactName` is true (an exact allowlist entry such
 * as `localhost`). Anything else (`/`, `/api/v1/…`, absolute-form targets) is `not-found`, so a
 * server can mount other routes beside the proxy; a host-like segment that does not parse is
 * `bad-path`. Total: never throws.
 *
 * @example
 * parseProxyPath('/api.example.com:8443/v1/x?y=1', () => false);
 * // { ok: true, target: { host: {hostname: 'api.example.com'}, port: 8443, path: '/v1/x?y=1', … } }
 */
export function parseProxyPath(
  url: string,
  isExactName: (name: string) => boolean,
): ParsedProxyPath {
  if (!url.startsWith('/') || url.startsWith('//')) return notFound();
  const end = firstIndexOf(url, ['/', '?', '#'], 1);
  return withRest(parseSegment(url.slice(1, end), isExactName), url.slice(end));
}

/** Most distinct upstream segments a {@link ProxyPathParser} remembers. */
const MAX_REMEMBERED_SEGMENTS = 1024;
/** Longest segment remembered: a 253-character name in brackets with `:65535` fits. */
const MAX_REMEMBERED_SEGMENT_LENGTH = 264;

/** {@link parseProxyPath} bound to one allowlist's `isExactName`. */
export type ProxyPathParser = (url: string) => ParsedProxyPath;

/**
 * {@link parseProxyPath} for one proxy: the same results, with the parse of each upstream
 * segment (`api.example.com:8443`) remembered, since a proxy sees the same few upstreams again
 * and again. Up to {@link MAX_REMEMBERED_SEGMENTS} segments of at most
 * {@link MAX_REMEMBERED_SEGMENT_LENGTH} characters are kept; when that many are held, the memory
 * is cleared and starts over, so any stream of paths costs bounded memory.
 */
export function createProxyPathParser(isExactName: (name: string) => boolean): ProxyPathParser {
  const segments = new Map<string, ParsedSegment>();
  return (url) => {
    if (!url.startsWith('/') || url.startsWith('//')) return notFound();
    const end = firstIndexOf(url, ['/', '?', '#'], 1);
    const segment = url.slice(1, end);
    let parsed = segments.get(segment);
    if (parsed === undefined) {
      parsed = parseSegment(segment, isExactName);
      if (segment.length <= MAX_REMEMBERED_SEGMENT_LENGTH) {
        if (segments.size >= MAX_REMEMBERED_SEGMENTS) segments.clear();
        segments.set(segment, parsed);
      }
    }
    return withRest(parsed, url.slice(end));
  };
}

/** Parses the first path segment: `not-found`, `bad-path`, or the upstream's host and port. */
function parseSegment(segment: string, isExactName: (name: string) => boolean): ParsedSegment {
  const { hostText, portText } = splitHostPort(segment);
  const looksLikeHost =
    hostText.startsWith('[') ||
    hostText.includes('.') ||
    (hostText.length > 0 && isExactName(hostText.toLowerCase()));
  if (!looksLikeHost) return notFound();
  const host = parseHost(hostText);
  if (host === undefined || (host.ipFamily === 6 && !hostText.startsWith('['))) {
    return badPath(`'${truncate(hostText)}' is not a host name or ip literal`);
  }
  const port = portText === undefined ? HTTPS_PORT : parsePort(portText);
  if (port === undefined) return badPath(`'${truncate(portText ?? '')}' is not a port`);
  return { ok: true, host, port, authority: formatAuthority(host, port) };
}

/** The parse of a whole path from its segment's parse and the rest (path and query). */
function withRest(segment: ParsedSegment, rest: string): ParsedProxyPath {
  if (!segment.ok) return segment;
  if (rest.includes('#')) return badPath('a fragment is not allowed in a request target');
  const path = rest.startsWith('/') ? rest : `/${rest}`;
  const { host, port, authority } = segment;
  return { ok: true, target: { host, port, authority, path } };
}

function splitHostPort(segment: string): { hostText: string; portText: string | undefined } {
  const close = segment.startsWith('[') ? segment.indexOf(']') : -1;
  const colon = segment.indexOf(':', close === -1 ? 0 : close);
  if (colon === -1) return { hostText: segment, portText: undefined };
  return { hostText: segment.slice(0, colon), portText: segment.slice(colon + 1) };
}

function firstIndexOf(text: string, needles: readonly string[], from: number): number {
  let best = text.length;
  for (const needle of needles) {
    const at = text.indexOf(needle, from);
    if (at !== -1 && at < best) best = at;
  }
  return best;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** The one `not-found` result (results are read-only, so it is shared). */
const NOT_FOUND = Object.freeze({
  ok: false,
  code: 'not-found',
  message: 'not a proxy path: expected /{host[:port]}/{path}',
} as const);

function notFound(): typeof NOT_FOUND {
  return NOT_FOUND;
}

function badPath(message: string): { ok: false; code: 'bad-path'; message: string } {
  return { ok: false, code: 'bad-path', message };
}
