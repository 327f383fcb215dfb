/**
 * IP address text ⇄ bytes for the peer policy: dotted IPv4 and RFC 4291 / RFC 5952 IPv6.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

/** Size of an IPv4 address in bytes. */
export const IPV4_LENGTH = 4;
/** Size of an IPv6 address in bytes. */
export const IPV6_LENGTH = 16;

const IPV6_GROUPS = 8;
const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
/** Bytes 0..11 of an IPv4-mapped IPv6 address (::ffff:0:0/96). RFC 4291 §2.5.5.2. */
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

/**
 * Parses IP address text into 4 (IPv4) or 16 (IPv6) bytes; undefined if the text is not an address.
 *
 * IPv4: exactly four dotted decimal octets 0-255 without leading zeros (`010.0.0.1` is refused:
 * some resolvers read it as octal, a classic address-filter bypass); no shorthand (`127.1`), no hex.
 * IPv6: every RFC 4291 §2.2 form, any case, `::` compression, a trailing dotted quad
 * (`::ffff:192.0.2.1`, `64:ff9b::10.0.0.1`). Zone identifiers (`fe80::1%eth0`), brackets and
 * surrounding whitespace are refused: they never name a peer on the wire.
 */
export function parseIp(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/**
 * Formats 4 or 16 address bytes: dotted-decimal IPv4, or IPv6 in the canonical text of RFC 5952 §4
 * (lowercase, no leading zeros, the longest run of two or more zero groups compressed to `::`, the
 * first on a tie). IPv4-mapped addresses use the mixed form `::ffff:192.0.2.1` (RFC 5952 §5).
 * @throws InvalidArgumentError for any other length.
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === IPV4_LENGTH) {
    return formatIpv4(bytes, 0);
  }
  if (bytes.length === IPV6_LENGTH) {
    return formatIpv6(bytes);
  }
  throw new InvalidArgumentError('formatIp', `expected 4 or 16 bytes, got ${bytes.length}`);
}

/** True if the bytes are an IPv4-mapped IPv6 address (::ffff:0:0/96). RFC 4291 §2.5.5.2. */
export function isIpv4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === IPV6_LENGTH && MAPPED_PREFIX.every((b, i) => bytes[i] === b);
}

/** Compares two addresses of the same length as unsigned big-endian numbers: <0, 0 or >0. */
export function compareIp(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  for (const byte of a) {
    const diff = byte - (b[i++] ?? 0);
    if (diff !== 0) {
      return diff;
    }
  }
  return 0;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== IPV4_LENGTH) {
    return undefined;
  }
  const out = new Uint8Array(IPV4_LENGTH);
  for (let i = 0; i < IPV4_LENGTH; i++) {
    const part = parts[i] ?? '';
    const value = Number(part);
    if (!IPV4_OCTET.test(part) || value > 0xff) {
      return undefined;
    }
    out[i] = value;
  }
  return out;
}

/** Parses the colon-separated hex groups of one side of `::` into 16-bit values. */
function parseGroups(side: string): number[] | undefined {
  if (side === '') {
    return [];
  }
  const groups: number[] = [];
  for (const part of side.split(':')) {
    if (!IPV6_GROUP.test(part)) {
      return undefined;
    }
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/** Replaces a trailing dotted IPv4 part with its two hex groups. */
function expandEmbeddedIpv4(text: string): string | undefined {
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (!tail.includes('.')) {
    return text;
  }
  const v4 = parseIpv4(tail);
  if (v4 === undefined) {
    return undefined;
  }
  const view = new DataView(v4.buffer);
  const hi = view.getUint16(0).toString(16);
  const lo = view.getUint16(2).toString(16);
  return `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const expanded = expandEmbeddedIpv4(text);
  if (expanded === undefined) {
    return undefined;
  }
  const halves = expanded.split('::');
  if (halves.length > 2) {
    return undefined;
  }
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) {
    return undefined;
  }
  const count = head.length + tail.length;
  // `::` stands for one or more zero groups; without it all eight groups must be present.
  if (halves.length === 2 ? count > IPV6_GROUPS - 1 : count !== IPV6_GROUPS) {
    return undefined;
  }
  const groups = [...head, ...new Array<number>(IPV6_GROUPS - count).fill(0), ...tail];
  const out = new Uint8Array(IPV6_LENGTH);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function formatIpv4(bytes: Uint8Array, offset: number): string {
  return bytes.subarray(offset, offset + IPV4_LENGTH).join('.');
}

/** Finds the longest run of at least two zero groups; the first wins a tie. RFC 5952 §4.2. */
function longestZeroRun(groups: readonly number[]): { start: number; length: number } {
  let best = { start: -1, length: 0 };
  let start = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      start = start < 0 ? i : start;
    } else if (start >= 0) {
      if (i - start > best.length) {
        best = { start, length: i - start };
      }
      start = -1;
    }
  }
  return best.length >= 2 ? best : { start: -1, length: 0 };
}

function formatIpv6(bytes: Uint8Array): string {
  if (isIpv4Mapped(bytes)) {
    return `::ffff:${formatIpv4(bytes, 12)}`;
  }
  const groups: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < IPV6_GROUPS; i++) {
    groups.push(view.getUint16(2 * i));
  }
  const run = longestZeroRun(groups);
  const hex = (g: number): string => g.toString(16);
  if (run.start < 0) {
    return groups.map(hex).join(':');
  }
  const head = groups.slice(0, run.start).map(hex).join(':');
  const tail = groups
    .slice(run.start + run.length)
    .map(hex)
    .join(':');
  return `${head}::${tail}`;
}
