/**
 * Who the client is and what the upstream is told about it: X-Forwarded-For/-Proto/-Host are
 * taken from the peer only when the peer is a configured trusted proxy, otherwise replaced.
 * @module
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { InvalidProxyOptionError } from './errors.js';

/** The client as the proxy sees it, and the X-Forwarded-* values to send upstream. */
export interface ClientInfo {
  /** The client's address: the peer, or the nearest untrusted X-Forwarded-For entry. */
  readonly address: string;
  readonly forwardedFor: string;
  readonly forwardedProto: string;
  readonly forwardedHost: string | undefined;
}

/** TrustedProxies decides whose X-Forwarded-* headers are believed. */
export interface TrustedProxies {
  /** Reads the client and the X-Forwarded-* values for a request. */
  clientInfo(req: IncomingMessage): ClientInfo;
}

const MAPPED_PREFIX = '::ffff:';

/** `::ffff:192.0.2.1` → `192.0.2.1`; other addresses unchanged. */
export function normaliseAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith(MAPPED_PREFIX) && net.isIPv4(lower.slice(MAPPED_PREFIX.length))
    ? lower.slice(MAPPED_PREFIX.length)
    : lower;
}

/**
 * Creates the trusted-proxy policy from CIDRs or single addresses (`10.0.0.0/8`, `::1`).
 * @throws InvalidProxyOptionError for a malformed range.
 */
export function createTrustedProxies(ranges: readonly string[]): TrustedProxies {
  const list = new net.BlockList();
  ranges.forEach((text, i) => {
    addRange(list, text, `trustedProxies[${i}]`);
  });
  const isTrusted = (address: string): boolean => {
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    return net.isIP(address) !== 0 && list.check(address, family);
  };
  return {
    clientInfo: (req) => {
      const peer = normaliseAddress(req.socket.remoteAddress ?? '0.0.0.0');
      const ownProto = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
      const host = req.headers.host;
      if (ranges.length === 0 || !isTrusted(peer)) {
        return { address: peer, forwardedFor: peer, forwardedProto: ownProto, forwardedHost: host };
      }
      const chain = headerList(req.headers['x-forwarded-for']).map(normaliseAddress);
      let client = peer;
      for (let i = chain.length - 1; i >= 0; i--) {
        const hop = chain[i] ?? '';
        if (net.isIP(hop) === 0) break;
        client = hop;
        if (!isTrusted(hop)) break;
      }
      return {
        address: client,
        forwardedFor: [...chain, peer].join(', '),
        forwardedProto: headerList(req.headers['x-forwarded-proto'])[0] ?? ownProto,
        forwardedHost: headerList(req.headers['x-forwarded-host'])[0] ?? host,
      };
    },
  };
}

function addRange(list: net.BlockList, text: string, option: string): void {
  const [address = '', prefixText, extra] = text.split('/');
  const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
  const maxPrefix = family === 'ipv6' ? 128 : 32;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (
    net.isIP(address) === 0 ||
    extra !== undefined ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > maxPrefix ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    throw new InvalidProxyOptionError(option, `'${text}' is not an ip address or cidr`);
  }
  list.addSubnet(address, prefix, family);
}

function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
