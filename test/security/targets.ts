/**
 * Peer addresses a relay must refuse: one or more addresses from every IANA special-purpose
 * IPv4/IPv6 block (RFC 6890 registries), multicast and reserved space, and every way of writing
 * an IPv4 address inside IPv6 (mapped, compatible, 6to4, NAT64 both prefixes, Teredo).
 * @module
 */

/** IPv4 special-purpose addresses (one or more per IANA block), with 169.254.169.254. */
export const SPECIAL_IPV4 = [
  '0.0.0.0',
  '0.1.2.3',
  '10.0.0.1',
  '10.255.255.254',
  '100.64.0.1',
  '100.127.255.254',
  '127.0.0.1',
  '127.1.2.3',
  '169.254.0.1',
  '169.254.169.254',
  '172.16.0.1',
  '172.31.255.254',
  '192.0.0.1',
  '192.0.0.9',
  '192.0.0.170',
  '192.0.2.1',
  '192.88.99.1',
  '192.168.0.1',
  '192.168.255.254',
  '198.18.0.1',
  '198.19.255.254',
  '198.51.100.1',
  '203.0.113.1',
  '224.0.0.1',
  '239.255.255.250',
  '240.0.0.1',
  '255.255.255.255',
] as const;

/** IPv6 special-purpose, local, multicast and reserved addresses. */
export const SPECIAL_IPV6 = [
  '::',
  '::1',
  '100::1',
  '2001:1::1',
  '2001:2::1',
  '2001:3::1',
  '2001:10::1',
  '2001:20::1',
  '2001:db8::1',
  '3fff::1',
  '5f00::1',
  'fc00::1',
  'fd00::2',
  'fe80::1',
  'fec0::1',
  'ff02::1',
  'ff05::1:3',
  '4000::1',
] as const;

/** IPv4 targets that attackers dress up in IPv6. */
const EMBEDDED_TARGETS = [
  { v4: '127.0.0.1', hex: '7f00:1', teredoClient: '80ff:fffe' },
  { v4: '169.254.169.254', hex: 'a9fe:a9fe', teredoClient: '5601:5601' },
  { v4: '10.0.0.1', hex: 'a00:1', teredoClient: 'f5ff:fffe' },
  { v4: '0.0.0.0', hex: '0:0', teredoClient: 'ffff:ffff' },
] as const;

/** Every IPv4-in-IPv6 spelling of the embedded targets. */
export const EMBEDDED_IPV4_IN_IPV6: readonly string[] = EMBEDDED_TARGETS.flatMap((t) => [
  `::ffff:${t.v4}`,
  `::ffff:${t.hex}`,
  `::${t.v4}`,
  `2002:${t.hex}::1`,
  `64:ff9b::${t.v4}`,
  `64:ff9b:1::${t.v4}`,
  `2001:0:${t.hex}:0:0:0:1`,
  `2001:0:4136:e378:8000:63bf:${t.teredoClient}`,
]).filter((a) => a !== '::0.0.0.0');
