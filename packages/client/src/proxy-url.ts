/**
 * The signaling proxy: validation of its URL and the rewriting of `https://host/path` and
 * `wss://host/path` into the proxy's `/{host[:port]}/{path}` scheme.
 * @module
 */
import { ClientErrorCode, CloudProxyError } from './errors.js';
import { describeValue, isRecord } from './ice-servers.js';

/** The signaling proxy as an app configures it. */
export interface ProxyConfiguration {
  /** Absolute https URL of a cloudproxy node, e.g. `https://proxy.example.com`. */
  readonly url: string;
  /**
   * Hosts whose requests go through the proxy: exact names (`api.example.com`) or a leading
   * wildcard for subdomains (`*.example.com`). Absent: every https/wss host is proxied.
   */
  readonly hosts?: readonly string[];
}

/** A validated proxy configuration. */
export interface ResolvedProxy {
  /** `https://proxy[:port][/prefix]` without a trailing slash. */
  readonly httpBase: string;
  /** The same with `wss:` (or `ws:` for an http localhost proxy). */
  readonly wsBase: string;
  /** The proxy's own host (`host[:port]`): requests to it always go direct. */
  readonly proxyHost: string;
  /** Lower-case host patterns, or undefined for "every host". */
  readonly hosts: readonly string[] | undefined;
}

const HOST_PATTERN = /^(?:\*\.)?[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$|^\[[0-9a-f:.]+\]$/;

function refuse(field: string, reason: string): never {
  throw new CloudProxyError(ClientErrorCode.InvalidProxyUrl, `${field}: ${reason}`, { field });
}

/** Whether `hostname` (as `URL.hostname` gives it) names this machine. */
export function isLocalHostname(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}

function parseProxyUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string')
    refuse(field, `expected a URL string, got ${describeValue(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    refuse(field, `'${value}' is not an absolute URL`);
  }
  if (url.protocol === 'http:' && !isLocalHostname(url.hostname)) {
    refuse(field, `'${value}' must use https (http is accepted for localhost only)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    refuse(field, `'${value}' must be an https URL, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') refuse(field, 'must not contain user info');
  if (url.search !== '' || url.hash !== '') refuse(field, 'must not contain a query or fragment');
  return url;
}

function parseHosts(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value))
    refuse(field, `expected an array of host names, got ${describeValue(value)}`);
  return value.map((entry: unknown, i) => {
    const text = typeof entry === 'string' ? entry.toLowerCase() : '';
    if (!HOST_PATTERN.test(text)) {
      refuse(
        `${field}[${i}]`,
        `${describeValue(entry)} is not a host name or '*.' pattern (no scheme, port or path)`,
      );
    }
    return text;
  });
}

/**
 * Validates the proxy configuration at `field` (e.g. `networkConfiguration.proxy`): `url` must
 * be an absolute https URL (http for localhost only) without user info, query or fragment; a
 * path is kept as a prefix. Throws `INVALID_PROXY_URL` naming the field.
 */
export function resolveProxyConfiguration(value: unknown, field: string): ResolvedProxy {
  if (!isRecord(value)) refuse(field, `expected an object, got ${describeValue(value)}`);
  const url = parseProxyUrl(value['url'], `${field}.url`);
  const hosts = parseHosts(value['hosts'], `${field}.hosts`);
  const path = url.pathname.replace(/\/+$/, '');
  const httpBase = `${url.protocol}//${url.host}${path}`;
  const wsBase = `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}${path}`;
  return { httpBase, wsBase, proxyHost: url.host.toLowerCase(), hosts };
}

/** Whether `hostname` matches one of the patterns (exact, or `*.suffix` for subdomains). */
export function matchesHost(hostname: string, patterns: readonly string[]): boolean {
  const name = hostname.toLowerCase();
  return patterns.some((pattern) =>
    pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) : name === pattern,
  );
}

function parseAbsolute(url: string | URL): URL | undefined {
  if (url instanceof URL) return url;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/**
 * The URL to use for `url` given the proxy: `https://host[:port]/path?q` becomes
 * `{proxy}/host[:port]/path?q` and `wss://…` becomes `{proxy as wss}/host[:port]/path?q`.
 * Left unchanged (direct): relative URLs, other schemes (`http:`, `ws:`, `data:` …), URLs with
 * user info, the proxy's own host, hosts outside `hosts`, and everything when `proxy` is
 * undefined.
 *
 * @example
 * rewriteUrl('wss://signal.example.com/ws?room=1', proxy);
 * // 'wss://proxy.example.com/signal.example.com/ws?room=1'
 */
export function rewriteUrl(url: string | URL, proxy: ResolvedProxy | undefined): string {
  const text = url.toString();
  const parsed = parseAbsolute(url);
  if (proxy === undefined || parsed === undefined) return text;
  const base =
    parsed.protocol === 'https:' ? proxy.httpBase : parsed.protocol === 'wss:' ? proxy.wsBase : '';
  if (base === '' || parsed.username !== '' || parsed.password !== '') return text;
  if (parsed.host.toLowerCase() === proxy.proxyHost) return text;
  if (proxy.hosts !== undefined && !matchesHost(parsed.hostname, proxy.hosts)) return text;
  return `${base}/${parsed.host}${parsed.pathname}${parsed.search}${parsed.hash}`;
}
