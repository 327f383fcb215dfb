/**
 * IP ranges as operators write them: CIDR, a single address, or coturn's `first-last` form.
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import { IPV4_LENGTH, compareIp, formatIp, isIpv4Mapped, parseIp } from './ip-address.js';

/**
 * IpRange is an inclusive range of addresses of one family: `first` and `last` are both 4 bytes
 * (IPv4) or both 16 bytes (IPv6). IPv4-mapped IPv6 ranges are stored as IPv4 ranges, so that
 * `::ffff:10.0.0.0/104` and `10.0.0.0/8` are the same range.
 */
export interface IpRange {
  /** The text the range was parsed from, for messages ("denied-peer-ip 10.0.0.0/8"). */
  readonly text: string;
  readonly first: Uint8Array;
  readonly last: Uint8Array;
  /** The CIDR prefix length, or undefined for a `first-last` range. A single address is /32 or /128. */
  readonly prefixLength: number | undefined;
}

const PREFIX_DIGITS = /^(?:0|[1-9][0-9]{0,2})$/;
/** Bits in the ::ffff:0:0/96 prefix of IPv4-mapped addresses. RFC 4291 §2.5.5.2. */
const MAPPED_PREFIX_BITS = 96;

/**
 * Parses an IP range: CIDR (`10.0.0.0/8`, `fc00::/7`), a single address (`192.0.2.1`), or coturn's
 * inclusive `first-last` form (`172.17.0.0-172.17.255.255`). Host bits set in a CIDR address are
 * cleared (`192.168.1.5/24` is `192.168.1.0/24`).
 * @param optionName names the option in the error message (e.g. `deniedPeerIps[2]`).
 * @throws InvalidOptionError naming the text and what is wrong with it.
 */
export function parseIpRange(text: string, optionName = 'ip range'): IpRange {
  const fail = (reason: string): never => {
    throw new InvalidOptionError(optionName, `'${text}' ${reason}`);
  };
  if (text.includes('/')) {
    return parseCidr(text, fail);
  }
  if (text.includes('-')) {
    return parseFirstLast(text, fail);
  }
  const bytes = parseIp(text) ?? fail('is not an ip address, cidr (a.b.c.d/n) or range (a-b)');
  return normaliseMapped({ text, first: bytes, last: bytes, prefixLength: bytes.length * 8 });
}

/** True if `bytes` (4 or 16 bytes) lies in the range; an address never matches a range of the other family. */
export function rangeContains(range: IpRange, bytes: Uint8Array): boolean {
  return (
    bytes.length === range.first.length &&
    compareIp(range.first, bytes) <= 0 &&
    compareIp(bytes, range.last) <= 0
  );
}

/** Formats a range canonically: `first/prefix` for CIDR, `first-last` otherwise. */
export function formatIpRange(range: IpRange): string {
  return range.prefixLength === undefined
    ? `${formatIp(range.first)}-${formatIp(range.last)}`
    : `${formatIp(range.first)}/${range.prefixLength}`;
}

function parseCidr(text: string, fail: (reason: string) => never): IpRange {
  const slash = text.indexOf('/');
  const address = parseIp(text.slice(0, slash)) ?? fail('does not start with an ip address');
  const prefixText = text.slice(slash + 1);
  const maxBits = address.length * 8;
  const prefixLength = Number(prefixText);
  if (!PREFIX_DIGITS.test(prefixText) || prefixLength > maxBits) {
    fail(`has prefix length '${prefixText}', expected 0..${maxBits}`);
  }
  const first = new Uint8Array(address.length);
  const last = new Uint8Array(address.length);
  for (let i = 0; i < address.length; i++) {
    const bits = Math.min(8, Math.max(0, prefixLength - i * 8));
    const mask = (0xff << (8 - bits)) & 0xff;
    const low = (address[i] ?? 0) & mask;
    first[i] = low;
    last[i] = low | (~mask & 0xff);
  }
  return normaliseMapped({ text, first, last, prefixLength });
}

function parseFirstLast(text: string, fail: (reason: string) => never): IpRange {
  const [firstText = '', lastText = '', ...rest] = text.split('-');
  if (rest.length > 0) {
    fail('has more than one "-"');
  }
  const first = parseIp(firstText) ?? fail(`starts with '${firstText}', not an ip address`);
  const last = parseIp(lastText) ?? fail(`ends with '${lastText}', not an ip address`);
  if (first.length !== last.length) {
    fail('mixes ipv4 and ipv6');
  }
  if (compareIp(first, last) > 0) {
    fail('has its first address after its last');
  }
  return normaliseMapped({ text, first, last, prefixLength: undefined });
}

/** Stores a range that lies entirely inside ::ffff:0:0/96 as the IPv4 range it denotes. */
function normaliseMapped(range: IpRange): IpRange {
  if (!isIpv4Mapped(range.first) || !isIpv4Mapped(range.last)) {
    return range;
  }
  // Both ends inside ::ffff:0:0/96 implies a CIDR prefix of at least 96 bits.
  return {
    text: range.text,
    first: range.first.slice(-IPV4_LENGTH),
    last: range.last.slice(-IPV4_LENGTH),
    prefixLength:
      range.prefixLength === undefined ? undefined : range.prefixLength - MAPPED_PREFIX_BITS,
  };
}
