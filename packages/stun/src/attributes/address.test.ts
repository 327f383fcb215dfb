import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import type { TransportAddress } from '../types.js';
import {
  alternateServer,
  mappedAddress,
  otherAddress,
  responseOrigin,
  xorMappedAddress,
  xorPeerAddress,
  xorRelayedAddress,
} from './address.js';

/** Transaction ID of the RFC 5769 vectors. */
const ctx = {
  transactionId: Uint8Array.of(
    0xb7,
    0xe7,
    0xa7,
    0x01,
    0xbc,
    0x34,
    0xd6,
    0x86,
    0xfa,
    0x87,
    0xdf,
    0xae,
  ),
};
const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

const V4: TransportAddress = { family: 4, address: '192.0.2.1', port: 32853 };
const V6: TransportAddress = {
  family: 6,
  address: '2001:db8:1234:5678:11:2233:4455:6677',
  port: 32853,
};

describe('address attributes', () => {
  it('XOR-encodes IPv4 as in RFC 5769 §2.2', () => {
    expect(xorMappedAddress.encode(V4, ctx)).toEqual(hex('0001a147e112a643'));
  });

  it('XOR-encodes IPv6 with the transaction ID as in RFC 5769 §2.3', () => {
    expect(xorMappedAddress.encode(V6, ctx)).toEqual(
      hex('0002a1470113a9faa5d3f179bc25f4b5bed2b9d9'),
    );
  });

  it('encodes MAPPED-ADDRESS in clear', () => {
    expect(mappedAddress.encode(V4, ctx)).toEqual(hex('00018055c0000201'));
    expect(mappedAddress.decode(hex('00018055c0000201'), ctx)).toEqual(V4);
  });

  const codecs = [
    mappedAddress,
    xorMappedAddress,
    xorPeerAddress,
    xorRelayedAddress,
    alternateServer,
    responseOrigin,
    otherAddress,
  ];

  describe.each(codecs.map((c) => [c.name, c] as const))('%s', (name, codec) => {
    it.each([
      V4,
      V6,
      { family: 4, address: '0.0.0.0', port: 0 },
      { family: 6, address: '::', port: 65535 },
      { family: 6, address: '::ffff:10.0.0.1', port: 3478 },
    ] satisfies TransportAddress[])('round-trips %j', (value) => {
      expect(codec.decode(codec.encode(value, ctx), ctx)).toEqual(value);
    });

    it.each([
      ['too short for the header', '000100'],
      ['IPv4 with 20 bytes', '0001a147e112a643' + '00'.repeat(12)],
      ['IPv6 with 8 bytes', '0002a147e112a643'],
      ['IPv4 with 7 bytes', '0001a147e112a6'],
    ])('rejects %s with StunDecodeError naming the attribute', (_case, bytes) => {
      expect(() => codec.decode(hex(bytes), ctx)).toThrow(StunDecodeError);
      expect(() => codec.decode(hex(bytes), ctx)).toThrow(`attribute/${name}: length`);
    });

    it('rejects an unknown family', () => {
      expect(() => codec.decode(hex('0003a147e112a643'), ctx)).toThrow(
        `attribute/${name}: unknown address family 0x03`,
      );
    });
  });

  it('normalizes non-canonical IPv6 text on the way through', () => {
    const bytes = xorPeerAddress.encode(
      { family: 6, address: '2001:DB8:0:0:0:0:0:1', port: 1 },
      ctx,
    );
    expect(xorPeerAddress.decode(bytes, ctx).address).toBe('2001:db8::1');
  });

  it('encodes IPv4-mapped IPv6 text as plain IPv4 when the family is 4', () => {
    const bytes = xorPeerAddress.encode({ family: 4, address: '::ffff:192.0.2.1', port: 9 }, ctx);
    expect(bytes.length).toBe(8);
    expect(xorPeerAddress.decode(bytes, ctx)).toEqual({ family: 4, address: '192.0.2.1', port: 9 });
  });

  it.each([
    [
      'invalid text',
      { family: 4, address: '300.1.1.1', port: 1 },
      'invalid ip address "300.1.1.1"',
    ],
    ['IPv6 text with family 4', { family: 4, address: '2001:db8::1', port: 1 }, 'is not ipv4'],
    ['IPv4 text with family 6', { family: 6, address: '192.0.2.1', port: 1 }, 'is not ipv6'],
    ['a port above 65535', { family: 4, address: '192.0.2.1', port: 65536 }, 'out of range'],
    ['a fractional port', { family: 4, address: '192.0.2.1', port: 1.5 }, 'out of range'],
  ] satisfies [string, TransportAddress, string][])(
    'rejects %s with StunEncodeError',
    (_case, value, reason) => {
      expect(() => xorRelayedAddress.encode(value, ctx)).toThrow(StunEncodeError);
      expect(() => xorRelayedAddress.encode(value, ctx)).toThrow(reason);
    },
  );
});
