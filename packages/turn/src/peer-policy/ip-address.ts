/**
 * IP address text ⇄ bytes for the peer policy, on the codec's parser and formatter.
 * @module
 */
import { formatIpAddress, parseIpAddress } from '@cloudproxy/stun';
import { InvalidArgumentError } from '../errors.js';

/** Size of an IPv4 address in bytes. */
export const IPV4_LENGTH = 4;
/** Size of an IPv6 address in bytes. */
export const IPV6_LENGTH = 16;

/** Bytes 0..11 of an IPv4-mapped IPv6 address (::ffff:0:0/96). RFC 4291 §2.5.5.2. */
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

/**
 * Parses IP address text into 4 (IPv4) or 16 (IPv6) bytes; undefined if the text is not an address.
 * The codec's strict parser: no leading zeros in IPv4 octets (`010.0.0.1` is octal to some
 * resolvers, a classic filter bypass), no shorthand (`127.1`), no zone ids, brackets or spaces.
 */
export function parseIp(text: string): Uint8Array | undefined {
  return parseIpAddress(text);
}

/**
 * Formats 4 or 16 address bytes: dotted IPv4, or canonical RFC 5952 IPv6 (mapped addresses in the
 * mixed form `::ffff:192.0.2.1`).
 * @throws InvalidArgumentError for any other length.
 */
export function formatIp(bytes: Uint8Array): string {
  const text = formatIpAddress(bytes);
  if (text === undefined) {
    throw new InvalidArgumentError('formatIp', `expected 4 or 16 bytes, got ${bytes.length}`);
  }
  return text;
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
