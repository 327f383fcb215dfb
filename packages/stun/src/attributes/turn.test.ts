import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import type { AttributeCodec } from '../types.js';
import {
  additionalAddressFamily,
  channelNumber,
  connectionId,
  data,
  dontFragment,
  evenPort,
  icmp,
  lifetime,
  requestedAddressFamily,
  requestedTransport,
  reservationToken,
} from './turn.js';

const ctx = { transactionId: new Uint8Array(12) };
const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

interface Case {
  readonly codec: AttributeCodec<unknown>;
  readonly value: unknown;
  readonly wire: string;
}

const CASES: readonly Case[] = [
  { codec: channelNumber, value: 0x4000, wire: '40000000' },
  { codec: channelNumber, value: 0x7fff, wire: '7fff0000' },
  { codec: channelNumber, value: 0x0001, wire: '00010000' },
  { codec: lifetime, value: 600, wire: '00000258' },
  { codec: lifetime, value: 0xffffffff, wire: 'ffffffff' },
  { codec: data, value: Uint8Array.of(1, 2, 3), wire: '010203' },
  { codec: data, value: new Uint8Array(0), wire: '' },
  { codec: requestedAddressFamily, value: 0x02, wire: '02000000' },
  { codec: requestedAddressFamily, value: 0x09, wire: '09000000' },
  { codec: additionalAddressFamily, value: 0x02, wire: '02000000' },
  { codec: evenPort, value: true, wire: '80' },
  { codec: evenPort, value: false, wire: '00' },
  { codec: requestedTransport, value: 17, wire: '11000000' },
  { codec: requestedTransport, value: 6, wire: '06000000' },
  { codec: dontFragment, value: true, wire: '' },
  { codec: reservationToken, value: hex('0102030405060708'), wire: '0102030405060708' },
  { codec: icmp, value: { type: 3, code: 4, errorData: 1400 }, wire: '0000030400000578' },
  { codec: connectionId, value: 0x12345678, wire: '12345678' },
];

describe('TURN attributes', () => {
  it.each(CASES.map((c) => [c.codec.name, c.wire, c] as const))(
    '%s encodes and decodes 0x%s',
    (_n, _w, c) => {
      expect(c.codec.encode(c.value, ctx)).toEqual(hex(c.wire));
      expect(c.codec.decode(hex(c.wire), ctx)).toEqual(c.value);
    },
  );

  it('decodes EVEN-PORT from the R bit only', () => {
    expect(evenPort.decode(hex('7f'), ctx)).toBe(false);
    expect(evenPort.decode(hex('ff'), ctx)).toBe(true);
  });

  it('ignores the RFFU bytes of padded values', () => {
    expect(requestedTransport.decode(hex('11ffffff'), ctx)).toBe(17);
    expect(channelNumber.decode(hex('4001ffff'), ctx)).toBe(0x4001);
  });

  it.each([
    [channelNumber, 2, 4],
    [lifetime, 8, 4],
    [requestedAddressFamily, 1, 4],
    [additionalAddressFamily, 8, 4],
    [evenPort, 4, 1],
    [evenPort, 0, 1],
    [requestedTransport, 0, 4],
    [dontFragment, 4, 0],
    [dontFragment, 1, 0],
    [reservationToken, 7, 8],
    [icmp, 4, 8],
    [connectionId, 3, 4],
  ] as [AttributeCodec<unknown>, number, number][])(
    '%s rejects length %i (expected %i)',
    (codec, got, expected) => {
      expect(() => codec.decode(new Uint8Array(got), ctx)).toThrow(StunDecodeError);
      expect(() => codec.decode(new Uint8Array(got), ctx)).toThrow(
        `attribute/${codec.name}: length ${got}, expected ${expected}`,
      );
    },
  );

  it.each([
    [channelNumber, 0x10000],
    [lifetime, -1],
    [lifetime, 2 ** 32],
    [requestedTransport, 256],
    [requestedAddressFamily, 1.5],
    [connectionId, Number.NaN],
    [reservationToken, new Uint8Array(9)],
    [icmp, { type: 256, code: 0, errorData: 0 }],
    [icmp, { type: 0, code: -1, errorData: 0 }],
    [icmp, { type: 0, code: 0, errorData: 2 ** 32 }],
  ] as [AttributeCodec<unknown>, unknown][])('%s rejects %j on encode', (codec, value) => {
    expect(() => codec.encode(value, ctx)).toThrow(StunEncodeError);
  });
});
