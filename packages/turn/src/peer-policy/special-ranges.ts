/**
 * Special-purpose address ranges a TURN relay must not reach by default, as data (IANA registries).
 * @module
 */
import { parseIpRange, rangeContains } from './ip-range.js';
import type { IpRange } from './ip-range.js';

/**
 * How the peer policy treats a special range:
 * - `denied`: never a peer unless explicitly allowed;
 * - `loopback`: denied unless `allowLoopbackPeers`;
 * - `embeds-ipv4`: an IPv6 form that carries an IPv4 address; the decision is taken on the
 *   embedded IPv4 address(es), so the range itself denies nothing.
 */
export const SpecialRangeKind = {
  Denied: 'denied',
  Loopback: 'loopback',
  EmbedsIpv4: 'embeds-ipv4',
} as const;
/** One of {@link SpecialRangeKind}. */
export type SpecialRangeKind = (typeof SpecialRangeKind)[keyof typeof SpecialRangeKind];

/** SpecialRange is one entry of the special-purpose tables. */
export interface SpecialRange {
  /** The block in CIDR form, e.g. `127.0.0.0/8`. */
  readonly cidr: string;
  /** Lowercase descriptive name, used in denial reasons ("loopback 127.0.0.0/8"). */
  readonly name: string;
  /** Where the block is defined, e.g. `RFC 1122 §3.2.1.3`. */
  readonly reference: string;
  readonly kind: SpecialRangeKind;
  readonly range: IpRange;
  /** CIDR prefix length; the longest matching prefix wins. */
  readonly prefixLength: number;
}

type Row = readonly [cidr: string, name: string, reference: string, kind?: SpecialRangeKind];

const { Loopback, EmbedsIpv4 } = SpecialRangeKind;

/**
 * IPv4 rows: the IANA IPv4 Special-Purpose Address Registry (RFC 6890) entries that are not
 * globally reachable, plus multicast (RFC 5771). The globally reachable anycast blocks nested in
 * 192.0.0.0/24 (PCP 192.0.0.9, TURN 192.0.0.10) stay denied with their parent: relaying to another
 * relay or to a NAT's control protocol is not a peer's job. Globally reachable blocks outside
 * denied parents (192.31.196.0/24 AS112, 192.52.193.0/24 AMT, 192.175.48.0/24) are ordinary peers.
 */
const IPV4_ROWS: readonly Row[] = [
  ['0.0.0.0/8', 'this network', 'RFC 791, RFC 1122 §3.2.1.3'],
  ['10.0.0.0/8', 'private-use', 'RFC 1918'],
  ['100.64.0.0/10', 'shared address space (cgnat)', 'RFC 6598'],
  ['127.0.0.0/8', 'loopback', 'RFC 1122 §3.2.1.3', Loopback],
  // Includes 169.254.169.254, the cloud instance metadata service (credentials!).
  ['169.254.0.0/16', 'link-local', 'RFC 3927'],
  ['172.16.0.0/12', 'private-use', 'RFC 1918'],
  ['192.0.0.0/24', 'ietf protocol assignments', 'RFC 6890 §2.1'],
  ['192.0.2.0/24', 'documentation (test-net-1)', 'RFC 5737'],
  ['192.88.99.0/24', '6to4 relay anycast (deprecated)', 'RFC 7526'],
  ['192.168.0.0/16', 'private-use', 'RFC 1918'],
  ['198.18.0.0/15', 'benchmarking', 'RFC 2544'],
  ['198.51.100.0/24', 'documentation (test-net-2)', 'RFC 5737'],
  ['203.0.113.0/24', 'documentation (test-net-3)', 'RFC 5737'],
  ['224.0.0.0/4', 'multicast', 'RFC 5771'],
  ['240.0.0.0/4', 'reserved', 'RFC 1112 §4'],
  ['255.255.255.255/32', 'limited broadcast', 'RFC 8190, RFC 919 §7'],
];

/**
 * IPv6 rows: the IANA IPv6 Special-Purpose Address Registry (RFC 6890) entries that are not
 * globally reachable, the forms that embed IPv4 (decided on the embedded address), the deprecated
 * site-local and the multicast blocks, and every block of the IANA IPv6 Address Space registry
 * outside global unicast 2000::/3 that is "reserved by IETF" (nothing routable lives there; the
 * embedding forms and loopback nested in ::/8 win as longer prefixes). 2001::/23 is denied whole
 * except Teredo: its globally reachable children (PCP/TURN anycast, AMT, AS112, ORCHIDv2,
 * drone remote ID) are no peers for a relay either.
 */
const IPV6_ROWS: readonly Row[] = [
  ['::/128', 'unspecified address', 'RFC 4291 §2.5.2'],
  ['::1/128', 'loopback', 'RFC 4291 §2.5.3', Loopback],
  ['::/96', 'ipv4-compatible (deprecated)', 'RFC 4291 §2.5.5.1', EmbedsIpv4],
  ['64:ff9b::/96', 'nat64 well-known prefix', 'RFC 6052 §2.1', EmbedsIpv4],
  ['64:ff9b:1::/48', 'nat64 local-use prefix', 'RFC 8215', EmbedsIpv4],
  ['100::/64', 'discard-only', 'RFC 6666'],
  ['2001::/23', 'ietf protocol assignments', 'RFC 2928'],
  ['2001::/32', 'teredo', 'RFC 4380', EmbedsIpv4],
  ['2001:db8::/32', 'documentation', 'RFC 3849'],
  ['2002::/16', '6to4', 'RFC 3056', EmbedsIpv4],
  ['3fff::/20', 'documentation', 'RFC 9637'],
  ['5f00::/16', 'segment routing (srv6) sids', 'RFC 9602'],
  ['fc00::/7', 'unique local', 'RFC 4193'],
  ['fe80::/10', 'link-local', 'RFC 4291 §2.5.6'],
  ['fec0::/10', 'site-local (deprecated)', 'RFC 3879'],
  ['ff00::/8', 'multicast', 'RFC 4291 §2.7'],
  ...[
    '::/8',
    '100::/8',
    '200::/7',
    '400::/6',
    '800::/5',
    '1000::/4',
    '4000::/3',
    '6000::/3',
    '8000::/3',
    'a000::/3',
    'c000::/3',
    'e000::/4',
    'f000::/5',
    'f800::/6',
    'fe00::/9',
  ].map((cidr): Row => [cidr, 'reserved by ietf', 'RFC 4291 §2.4']),
];

function toSpecialRange([
  cidr,
  name,
  reference,
  kind = SpecialRangeKind.Denied,
]: Row): SpecialRange {
  const range = parseIpRange(cidr, 'special range');
  return { cidr, name, reference, kind, range, prefixLength: range.prefixLength ?? 0 };
}

/** The IPv4 special-purpose ranges. */
export const IPV4_SPECIAL_RANGES: readonly SpecialRange[] = IPV4_ROWS.map(toSpecialRange);
/**
 * The IPv6 special-purpose ranges. IPv4-mapped ::ffff:0:0/96 is absent on purpose: a mapped
 * address is the IPv4 address itself, and the policy converts it before any lookup.
 */
export const IPV6_SPECIAL_RANGES: readonly SpecialRange[] = IPV6_ROWS.map(toSpecialRange);

/**
 * Finds the most specific special range containing the address (longest prefix wins, so
 * `2001::/32` Teredo beats `2001::/23`), or undefined for an ordinary global address.
 */
export function findSpecialRange(bytes: Uint8Array): SpecialRange | undefined {
  const table = bytes.length === 4 ? IPV4_SPECIAL_RANGES : IPV6_SPECIAL_RANGES;
  let best: SpecialRange | undefined;
  for (const entry of table) {
    if (rangeContains(entry.range, bytes) && entry.prefixLength > (best?.prefixLength ?? -1)) {
      best = entry;
    }
  }
  return best;
}
