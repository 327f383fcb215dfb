/**
 * Host syntax shared by the path parser and the allowlist: host names, IP literals, ports.
 * @module
 */
import net from 'node:net';

/** A host as the proxy routes it: a canonical name or IP literal, and how to dial it. */
export interface CanonicalHost {
  /** Lowercase host name, dotted-quad IPv4, or compressed IPv6 without brackets. */
  readonly hostname: string;
  /** The IP family when the host is an IP literal. */
  readonly ipFamily: 4 | 6 | undefined;
}

/** Longest host name, RFC 1035 §2.3.4 (253 characters without the root dot). */
const MAX_HOSTNAME_LENGTH = 253;
/** A label: letters, digits, hyphens (not at either end); `_` for service names seen in practice. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** A last label that URL parsers and `inet_aton` read as a number (`127.1`, `0x7f.1`). */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/;
/** A port: 1-65535 without leading zeros. */
const PORT_TEXT = /^[1-9][0-9]{0,4}$/;
/** The largest TCP port. */
export const MAX_PORT = 65_535;

/** Canonical compressed form of an IPv6 literal (`0:0::1` → `::1`), or undefined if not one. */
export function canonicalIpv6(text: string): string | undefined {
  if (!net.isIPv6(text) || text.includes('%')) return undefined;
  return new URL(`https://[${text}]/`).hostname.slice(1, -1);
}

/**
 * Parses a host name or IP literal (IPv6 with or without brackets) into its canonical form, or
 * undefined when it is neither. Host names must be well-formed (RFC 1123 labels, at most 253
 * characters) and may not end in a numeric label, so `127.1` or `0x7f.0.0.1` never pass as names
 * that a resolver would read as an address.
 */
export function parseHost(text: string): CanonicalHost | undefined {
  if (text.startsWith('[') && text.endsWith(']')) {
    const ipv6 = canonicalIpv6(text.slice(1, -1));
    return ipv6 === undefined ? undefined : { hostname: ipv6, ipFamily: 6 };
  }
  if (net.isIPv4(text)) return { hostname: text, ipFamily: 4 };
  const ipv6 = canonicalIpv6(text);
  if (ipv6 !== undefined) return { hostname: ipv6, ipFamily: 6 };
  const lower = text.toLowerCase();
  if (lower.length === 0 || lower.length > MAX_HOSTNAME_LENGTH) return undefined;
  const labels = lower.split('.');
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  if (NUMERIC_LABEL.test(labels.at(-1) ?? '')) return undefined;
  return { hostname: lower, ipFamily: undefined };
}

/** Parses a port written in a path (`8443`); undefined unless 1-65535 without leading zeros. */
export function parsePort(text: string): number | undefined {
  if (!PORT_TEXT.test(text)) return undefined;
  const port = Number(text);
  return port <= MAX_PORT ? port : undefined;
}

/** The authority of an upstream as it goes in `Host` and URLs: `[v6]`, and `:port` unless 443. */
export function formatAuthority(host: CanonicalHost, port: number): string {
  const name = host.ipFamily === 6 ? `[${host.hostname}]` : host.hostname;
  return port === 443 ? name : `${name}:${port}`;
}
