/**
 * The upstream allowlist: exact host names, IP literals and `*.domain` suffixes matched on label
 * boundaries, so `evilazure.com` never matches `*.azure.com`.
 * @module
 */
import { InvalidProxyOptionError } from './errors.js';
import { parseHost } from './host-syntax.js';
import type { CanonicalHost } from './host-syntax.js';

/** HostMatcher decides whether an upstream host is allowed. Pure and synchronous. */
export interface HostMatcher {
  /** True if the canonical host matches an exact entry or, for names, a `*.domain` entry. */
  readonly matches: (host: CanonicalHost) => boolean;
  /** True if `name` (lowercase) is an exact entry: dotless names route only when listed. */
  readonly isExactName: (name: string) => boolean;
}

/**
 * Creates the allowlist matcher. Patterns: an exact host name (`api.example.com`, `localhost`), an
 * IP literal (`192.0.2.10`, `2001:db8::1` or `[2001:db8::1]`), or `*.domain`, which matches any
 * name with at least one more label in front of `.domain` (not `domain` itself). Matching is
 * case-insensitive; IPv6 literals are compared in canonical form.
 * @param optionName names the option in error messages (`allowHosts`).
 * @throws InvalidProxyOptionError for a pattern that is none of these (`*`, `*.`, `a.*.com`, …).
 * @example
 * const m = createHostMatcher(['*.azure.com']);
 * m.matches({ hostname: 'eu.azure.com', ipFamily: undefined }); // true
 * m.matches({ hostname: 'evilazure.com', ipFamily: undefined }); // false
 */
export function createHostMatcher(
  patterns: readonly string[],
  optionName = 'allowHosts',
): HostMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  patterns.forEach((pattern, index) => {
    const fail = (reason: string): never => {
      throw new InvalidProxyOptionError(`${optionName}[${index}]`, `'${pattern}' ${reason}`);
    };
    if (pattern.startsWith('*.')) {
      const domain = parseHost(pattern.slice(2));
      if (domain === undefined || domain.ipFamily !== undefined) {
        fail('is not *.domain with a valid domain name');
      } else {
        suffixes.push(`.${domain.hostname}`);
      }
      return;
    }
    const host = parseHost(pattern);
    if (host === undefined) {
      fail('is not a host name, an ip literal or *.domain');
    } else {
      exact.add(keyOf(host));
    }
  });
  return {
    matches: (host) =>
      exact.has(keyOf(host)) ||
      (host.ipFamily === undefined &&
        suffixes.some((suffix) => isSuffixMatch(host.hostname, suffix))),
    isExactName: (name) => exact.has(`n:${name}`),
  };
}

/** `eu.azure.com` ends with `.azure.com` and has a label in front of it. */
function isSuffixMatch(hostname: string, dottedSuffix: string): boolean {
  return hostname.length > dottedSuffix.length && hostname.endsWith(dottedSuffix);
}

/** Names and IP literals live in separate key spaces. */
function keyOf(host: CanonicalHost): string {
  return host.ipFamily === undefined ? `n:${host.hostname}` : `ip:${host.hostname}`;
}
