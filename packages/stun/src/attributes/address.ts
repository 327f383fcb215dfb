/**
 * Transport address attributes: MAPPED-ADDRESS, the XOR-*-ADDRESS family, ALTERNATE-SERVER and
 * the RFC 5780 RESPONSE-ORIGIN and OTHER-ADDRESS.
 * @module
 */
import { attributePlace, checkSize, checkUint } from '../attribute.js';
import { readU16, readU8, writeU16 } from '../bytes.js';
import { AddressFamily, AttrType, MAGIC_COOKIE } from '../constants.js';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import {
  IPV4_LENGTH,
  IPV6_LENGTH,
  formatIpv4,
  formatIpv6,
  isIpv4Mapped,
  parseIpAddress,
} from '../ip-address.js';
import type { AttributeCodec, CodecContext, TransportAddress } from '../types.js';

/** Reserved byte + family byte + port. RFC 8489 §14.1. */
const ADDRESS_HEADER_SIZE = 4;
const MAX_PORT = 0xffff;
const IPV4_MAPPED_OFFSET = 12;
const COOKIE_SIZE = 4;

/**
 * Byte `i` (0..15) of the 16-byte XOR key: the magic cookie followed by the first 12 bytes of
 * the transaction ID. Computed per byte, so no key array is built per address. RFC 8489 §14.2.
 */
function xorKeyByte(ctx: CodecContext, i: number): number {
  if (i < COOKIE_SIZE) {
    return (MAGIC_COOKIE >>> (8 * (COOKIE_SIZE - 1 - i))) & 0xff;
  }
  return ctx.transactionId[i - COOKIE_SIZE] ?? 0;
}

/** Converts address text to the wire bytes for `family`, or throws StunEncodeError. */
function addressBytes(name: string, value: TransportAddress): Uint8Array {
  const parsed = parseIpAddress(value.address);
  if (parsed === undefined) {
    throw new StunEncodeError(attributePlace(name), `invalid ip address "${value.address}"`);
  }
  // An IPv4-mapped IPv6 text (as Node reports on dual-stack sockets) encodes as plain IPv4.
  const bytes =
    value.family === 4 && isIpv4Mapped(parsed) ? parsed.subarray(IPV4_MAPPED_OFFSET) : parsed;
  const expected = value.family === 4 ? IPV4_LENGTH : IPV6_LENGTH;
  if (bytes.length !== expected) {
    throw new StunEncodeError(
      attributePlace(name),
      `address "${value.address}" is not ipv${value.family}`,
    );
  }
  return bytes;
}

function encodeAddress(
  name: string,
  xor: boolean,
  value: TransportAddress,
  ctx: CodecContext,
): Uint8Array {
  checkUint(name, value.port, MAX_PORT);
  const address = addressBytes(name, value);
  const out = new Uint8Array(ADDRESS_HEADER_SIZE + address.length);
  out[1] = value.family === 4 ? AddressFamily.IPv4 : AddressFamily.IPv6;
  writeU16(out, 2, xor ? value.port ^ (MAGIC_COOKIE >>> 16) : value.port);
  for (let i = 0; i < address.length; i++) {
    const byte = readU8(address, i);
    out[ADDRESS_HEADER_SIZE + i] = xor ? byte ^ xorKeyByte(ctx, i) : byte;
  }
  return out;
}

function decodeAddress(
  name: string,
  xor: boolean,
  bytes: Uint8Array,
  ctx: CodecContext,
): TransportAddress {
  if (bytes.length < ADDRESS_HEADER_SIZE) {
    throw new StunDecodeError(attributePlace(name), `length ${bytes.length}, expected 8 or 20`);
  }
  const familyByte = readU8(bytes, 1);
  let family: 4 | 6;
  if (familyByte === AddressFamily.IPv4) {
    family = 4;
  } else if (familyByte === AddressFamily.IPv6) {
    family = 6;
  } else {
    const hex = familyByte.toString(16).padStart(2, '0');
    throw new StunDecodeError(attributePlace(name), `unknown address family 0x${hex}`);
  }
  const addressLength = family === 4 ? IPV4_LENGTH : IPV6_LENGTH;
  checkSize(name, bytes.length, ADDRESS_HEADER_SIZE + addressLength);
  const port = readU16(bytes, 2);
  const address = new Uint8Array(addressLength); // a copy, never a view: XOR is applied to it
  for (let i = 0; i < addressLength; i++) {
    const byte = readU8(bytes, ADDRESS_HEADER_SIZE + i);
    address[i] = xor ? byte ^ xorKeyByte(ctx, i) : byte;
  }
  return {
    family,
    address: family === 4 ? formatIpv4(address) : formatIpv6(address),
    port: xor ? port ^ (MAGIC_COOKIE >>> 16) : port,
  };
}

function addressCodec(type: number, name: string, xor: boolean): AttributeCodec<TransportAddress> {
  return {
    type,
    name,
    encode: (value, ctx) => encodeAddress(name, xor, value, ctx),
    decode: (bytes, ctx) => decodeAddress(name, xor, bytes, ctx),
  };
}

/** MAPPED-ADDRESS: the reflexive transport address, in clear (for RFC 3489 clients). RFC 8489 §14.1. */
export const mappedAddress = addressCodec(AttrType.MappedAddress, 'MAPPED-ADDRESS', false);

/** XOR-MAPPED-ADDRESS: the reflexive transport address, XORed with the cookie and transaction ID. RFC 8489 §14.2. */
export const xorMappedAddress = addressCodec(AttrType.XorMappedAddress, 'XOR-MAPPED-ADDRESS', true);

/** XOR-PEER-ADDRESS: a peer's address as seen from the TURN server (XOR-encoded). RFC 8656 §18.3. */
export const xorPeerAddress = addressCodec(AttrType.XorPeerAddress, 'XOR-PEER-ADDRESS', true);

/** XOR-RELAYED-ADDRESS: the relayed transport address of an allocation (XOR-encoded). RFC 8656 §18.5. */
export const xorRelayedAddress = addressCodec(
  AttrType.XorRelayedAddress,
  'XOR-RELAYED-ADDRESS',
  true,
);

/** ALTERNATE-SERVER: the server a 300 Try Alternate response redirects to. RFC 8489 §14.15. */
export const alternateServer = addressCodec(AttrType.AlternateServer, 'ALTERNATE-SERVER', false);

/** RESPONSE-ORIGIN: the address a response was sent from. RFC 5780 §7.3. */
export const responseOrigin = addressCodec(AttrType.ResponseOrigin, 'RESPONSE-ORIGIN', false);

/** OTHER-ADDRESS: the server's alternate address for NAT behavior discovery. RFC 5780 §7.4. */
export const otherAddress = addressCodec(AttrType.OtherAddress, 'OTHER-ADDRESS', false);
