/**
 * IP address text ⇄ bytes: dotted IPv4 and canonical RFC 5952 IPv6 text.
 * @module
 */
import { readU16, writeU16 } from './bytes.js';

/** Size of an IPv4 address in bytes. RFC 8489 §14.1. */
export const IPV4_LENGTH = 4;
/** Size of an IPv6 address in bytes. RFC 8489 §14.1. */
export const IPV6_LENGTH = 16;

const IPV6_GROUPS = 8;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
/** Offset of the embedded IPv4 address in an IPv4-mapped IPv6 address. */
const MAPPED_IPV4_OFFSET = 12;
/** Bytes 0..11 of an IPv4-mapped IPv6 address (::ffff:0:0/96). RFC 4291 §2.5.5.2. */
const MAPPED_PREFIX: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * Parses IP address text into 4 (IPv4) or 16 (IPv6) bytes, or returns undefined if the text
 * is not a valid address. Accepts dotted-decimal IPv4 (no leading zeros) and every RFC 4291 §2.2
 * IPv6 form: upper or lower case, `::` compression, embedded IPv4 (`::ffff:192.0.2.1`).
 * Zone identifiers (`fe80::1%eth0`) are rejected: they never appear on the wire.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/**
 * Formats 4 or 16 address bytes as text: dotted-decimal IPv4, or IPv6 in the canonical form
 * of RFC 5952 §4 (lowercase, no leading zeros, the longest run of two or more zero groups
 * compressed to `::`, the first such run on a tie). IPv4-mapped addresses use the mixed
 * notation `::ffff:192.0.2.1` recommended by RFC 5952 §5.
 * Returns undefined for any other length.
 */
export function formatIpAddress(bytes: Uint8Array): string | undefined {
  if (bytes.length === IPV4_LENGTH) {
    return formatIpv4(bytes);
  }
  if (bytes.length === IPV6_LENGTH) {
    return formatIpv6(bytes);
  }
  return undefined;
}

/** True if the bytes are an IPv4-mapped IPv6 address (::ffff:0:0/96). RFC 4291 §2.5.5.2. */
export function isIpv4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === IPV6_LENGTH && MAPPED_PREFIX.every((b, i) => bytes[i] === b);
}

/** Formats the first 4 bytes as dotted-decimal IPv4. */
export function formatIpv4(bytes: Uint8Array): string {
  // One template, no intermediate array: this runs for every datagram passed up by the relay.
  return `${String(bytes[0] ?? 0)}.${String(bytes[1] ?? 0)}.${String(bytes[2] ?? 0)}.${String(bytes[3] ?? 0)}`;
}

/** Formats 16 bytes as canonical RFC 5952 IPv6 text. */
export function formatIpv6(bytes: Uint8Array): string {
  if (isIpv4Mapped(bytes)) {
    return `::ffff:${formatIpv4(bytes.subarray(MAPPED_IPV4_OFFSET))}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < IPV6_GROUPS; i++) {
    groups.push(readU16(bytes, 2 * i));
  }
  const run = longestZeroRun(groups);
  const hex = (g: number): string => g.toString(16);
  if (run.length === 0) {
    return groups.map(hex).join(':');
  }
  const head = groups.slice(0, run.start).map(hex).join(':');
  const tail = groups
    .slice(run.start + run.length)
    .map(hex)
    .join(':');
  return `${head}::${tail}`;
}

/**
 * Parses dotted-decimal IPv4: exactly four parts of 1 to 3 ASCII digits, each 0..255 and
 * without leading zeros. One pass over the characters: no split, regex or per-part strings,
 * as this runs for every address a TURN server encodes.
 */
function parseIpv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(IPV4_LENGTH);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || part === IPV4_LENGTH - 1) {
        return undefined; // an empty part, or a fifth one
      }
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (digits > 0 && value === 0) {
        return undefined; // a leading zero, as in `01`
      }
      value = value * 10 + (c - DIGIT_0);
      if (value > 0xff) {
        return undefined;
      }
      digits++;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || part !== IPV4_LENGTH - 1) {
    return undefined;
  }
  out[part] = value;
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

/** Replaces a trailing dotted IPv4 part with its two 16-bit groups in hex. */
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
  const hi = readU16(v4, 0).toString(16);
  const lo = readU16(v4, 2).toString(16);
  return `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const expanded = expandEmbeddedIpv4(text);
  if (expanded === undefined) {
    return undefined;
  }
  const [first = '', second, ...rest] = expanded.split('::');
  if (rest.length > 0) {
    return undefined;
  }
  const compressed = second !== undefined;
  const head = parseGroups(first);
  const tail = parseGroups(second ?? '');
  if (head === undefined || tail === undefined) {
    return undefined;
  }
  const count = head.length + tail.length;
  // `::` stands for one or more zero groups; without it all eight groups must be present.
  if (compressed ? count >= IPV6_GROUPS : count !== IPV6_GROUPS) {
    return undefined;
  }
  const out = new Uint8Array(IPV6_LENGTH);
  head.forEach((g, i) => {
    writeU16(out, 2 * i, g);
  });
  const tailStart = IPV6_GROUPS - tail.length;
  tail.forEach((g, i) => {
    writeU16(out, 2 * (tailStart + i), g);
  });
  return out;
}

/** Finds the longest run of at least two zero groups; the first wins a tie. RFC 5952 §4.2.3. */
function longestZeroRun(groups: readonly number[]): { start: number; length: number } {
  let best = { start: 0, length: 0 };
  let start = 0;
  let length = 0;
  for (const [i, g] of groups.entries()) {
    if (g === 0) {
      if (length === 0) {
        start = i;
      }
      length++;
      if (length > best.length) {
        best = { start, length };
      }
    } else {
      length = 0;
    }
  }
  // RFC 5952 §4.2.2: a single zero group is never shortened to `::`.
  return best.length >= 2 ? best : { start: 0, length: 0 };
}
