/**
 * Redirects from upstreams: in `pass` mode the 3xx goes to the client with `Location` rewritten
 * into the proxy's namespace (or dropped when the target is not allowed); in `follow` mode the
 * proxy follows it itself, checking the allowlist on every hop.
 * @module
 */
import { formatAuthority, parseHost } from './host-syntax.js';
import type { HostMatcher } from './host-matcher.js';
import type { UpstreamTarget } from './proxy-path.js';

/** Statuses with a `Location` to follow, RFC 9110 §15.4. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** True for a redirect status that carries a `Location`. */
export function isRedirect(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/** The allowlist as redirects need it. */
export interface RedirectPolicy {
  readonly hosts: HostMatcher;
  readonly ports: ReadonlySet<number>;
}

/**
 * Resolves `location` against the current upstream and returns the new target if it is an
 * `https:` URL to an allowed host and port, or undefined otherwise.
 */
export function redirectTarget(
  location: string,
  current: UpstreamTarget,
  policy: RedirectPolicy,
): UpstreamTarget | undefined {
  let url: URL;
  try {
    url = new URL(location, `https://${current.authority}${current.path}`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
  const host = parseHost(url.hostname);
  const port = url.port === '' ? 443 : Number(url.port);
  if (host === undefined || !policy.hosts.matches(host) || !policy.ports.has(port)) {
    return undefined;
  }
  return {
    host,
    port,
    authority: formatAuthority(host, port),
    path: `${url.pathname}${url.search}`,
  };
}

/**
 * The `Location` for the client in `pass` mode: the target in the proxy's namespace
 * (`{base}/{host[:port]}/{path}`), keeping any fragment; undefined when it must be dropped.
 * @param base `https://proxy.example.com` as the client addressed the proxy, or '' for a
 *   path-absolute reference.
 */
export function rewriteLocation(
  location: string,
  current: UpstreamTarget,
  policy: RedirectPolicy,
  base: string,
): string | undefined {
  const target = redirectTarget(location, current, policy);
  if (target === undefined) return undefined;
  const hashAt = location.indexOf('#');
  const fragment = hashAt === -1 ? '' : location.slice(hashAt);
  return `${base}/${target.authority}${target.path}${fragment}`;
}

/** True when following a redirect must change the method to GET and drop the body. */
export function redirectDropsBody(status: number, method: string): boolean {
  return status === 303
    ? method !== 'HEAD'
    : (status === 301 || status === 302) && method === 'POST';
}
