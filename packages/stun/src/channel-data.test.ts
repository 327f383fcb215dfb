import { describe, expect, it } from 'vitest';
import {
  decodeChannelData,
  encodeChannelData,
  isChannelData,
  writeChannelDataHeader,
} from './channel-data.js';
import { StunDecodeError, StunEncodeError } from './errors.js';

describe('ChannelData (RFC 8656 §12.4)', () => {
  it('encodes header and data, padding to 4 bytes with zeros only when asked', () => {
    const data = Uint8Array.of(1, 2, 3, 4, 5);
    expect(encodeChannelData(0x4001, data, false)).toEqual(
      Uint8Array.of(0x40, 0x01, 0, 5, 1, 2, 3, 4, 5),
    );
    expect(encodeChannelData(0x4001, data, true)).toEqual(
      Uint8Array.of(0x40, 0x01, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0),
    );
    expect(encodeChannelData(0x4fff, new Uint8Array(0), true)).toEqual(
      Uint8Array.of(0x4f, 0xff, 0, 0),
    );
    expect(encodeChannelData(0x4000, Uint8Array.of(1, 2, 3, 4), true)).toHaveLength(8);
  });

  it('decodes channel number and a data view, ignoring trailing padding', () => {
    const bytes = Uint8Array.of(0x40, 0x02, 0, 3, 7, 8, 9, 0);
    const decoded = decodeChannelData(bytes);
    expect(decoded.channelNumber).toBe(0x4002);
    expect(decoded.data).toEqual(Uint8Array.of(7, 8, 9));
    expect(decoded.data.buffer).toBe(bytes.buffer);
    expect(decodeChannelData(Uint8Array.of(0x40, 0, 0, 0)).data).toHaveLength(0);
  });

  it.each([
    ['fewer than 4 bytes', [0x40, 0, 0], 'length 3, expected at least 4'],
    ['channel 0x3fff', [0x3f, 0xff, 0, 0], 'channel number 0x3fff out of range 0x4000..0x7fff'],
    ['channel 0x8000', [0x80, 0x00, 0, 0], 'channel number 0x8000 out of range'],
    [
      'a length past the end',
      [0x40, 0, 0, 5, 1, 2, 3, 4],
      'length field 5 exceeds the 4 bytes after the header',
    ],
  ])('rejects %s', (_case, bytes, reason) => {
    expect(() => decodeChannelData(Uint8Array.from(bytes))).toThrow(StunDecodeError);
    expect(() => decodeChannelData(Uint8Array.from(bytes))).toThrow(`channel-data: ${reason}`);
  });

  it.each([
    [[0x40, 0, 0, 0], true],
    [[0x4f, 0xff, 0, 0], true],
    [[0x40, 0, 0], false],
    [[0x3f, 0, 0, 0], false],
    [[0x7f, 0xff, 0, 0], true],
    [[0x80, 0, 0, 0], false],
    [[0x00, 0x01, 0, 0], false],
  ])('isChannelData(%j) is %s', (bytes, expected) => {
    expect(isChannelData(Uint8Array.from(bytes))).toBe(expected);
  });

  it('writes a header in place for zero-copy framing', () => {
    const target = new Uint8Array(10).fill(0xee);
    writeChannelDataHeader(target, 2, 0x4abc, 0x1234);
    expect(Array.from(target.subarray(0, 7))).toEqual([0xee, 0xee, 0x4a, 0xbc, 0x12, 0x34, 0xee]);
  });

  it.each([
    ['channel 0x3fff', 0x3fff, 0, 0, 8],
    ['channel 0x8000', 0x8000, 0, 0, 8],
    ['a length over 65535', 0x4000, 0x10000, 0, 8],
    ['a negative length', 0x4000, -1, 0, 8],
    ['an offset past the end', 0x4000, 0, 5, 8],
    ['a negative offset', 0x4000, 0, -1, 8],
  ])('writeChannelDataHeader rejects %s', (_case, channel, length, offset, size) => {
    expect(() => {
      writeChannelDataHeader(new Uint8Array(size), offset, channel, length);
    }).toThrow(StunEncodeError);
  });

  it('encodeChannelData rejects data over 65535 bytes and bad channels', () => {
    expect(() => encodeChannelData(0x4000, new Uint8Array(65536), false)).toThrow(StunEncodeError);
    expect(() => encodeChannelData(0x1000, new Uint8Array(1), false)).toThrow(
      'channel-data: channel number 4096 out of range 0x4000..0x7fff',
    );
  });
});
