import { describe, expect, it } from 'vitest';
import { readU16, readU32, readU8, writeU16, writeU32 } from './bytes.js';

/** `bytes` placed at `offset` inside a larger buffer of 0xee filler: a subarray with a non-zero byteOffset. */
function inside(bytes: readonly number[], offset = 5, after = 3): Uint8Array {
  const buffer = new Uint8Array(offset + bytes.length + after).fill(0xee);
  buffer.set(bytes, offset);
  return buffer.subarray(offset, offset + bytes.length);
}

/** What DataView reads and writes for the same bytes: the reference the helpers must match. */
function referenceView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe('readU8 / readU16 / readU32', () => {
  it.each([
    [[0, 0, 0, 0], 0, 0, 0],
    [[0x00, 0xff, 0xff, 0x00], 0, 0xff, 0xffff00],
    [[0xff, 0xff, 0xff, 0xff], 0xff, 0xffff, 0xffffffff],
    [[0x80, 0, 0, 0], 0x80, 0x8000, 2 ** 31],
    [[0x7f, 0xff, 0xff, 0xff], 0x7f, 0x7fff, 2 ** 31 - 1],
    [[0x21, 0x12, 0xa4, 0x42], 0x21, 0x2112, 0x2112a442],
  ])('reads %j big-endian', (bytes, u8, u16, u32) => {
    const view = inside(bytes);
    expect(readU8(view, 0)).toBe(u8);
    expect(readU16(view, 0)).toBe(u16);
    expect(readU32(view, 0)).toBe(u32);
    expect(readU32(view, 0)).toBe(referenceView(view).getUint32(0));
  });

  it('returns u32 values of 2^31 and above unsigned', () => {
    expect(readU32(Uint8Array.of(0x80, 0, 0, 0), 0)).toBe(2147483648);
    expect(readU32(Uint8Array.of(0xff, 0xff, 0xff, 0xfe), 0)).toBe(4294967294);
  });

  it('reads relative to a subarray, up to its last byte, and not past it', () => {
    // The parent holds 0xee on both sides: a read that used the parent's offsets would see it.
    const view = inside([1, 2, 3, 4, 5, 6]);
    expect(view.byteOffset).toBe(5);
    expect(readU8(view, 5)).toBe(6);
    expect(readU16(view, 4)).toBe(0x0506);
    expect(readU32(view, 2)).toBe(0x03040506);
    expect(() => readU8(view, 6)).toThrow(RangeError);
    expect(() => readU16(view, 5)).toThrow(RangeError);
    expect(() => readU32(view, 3)).toThrow(RangeError);
    expect(() => referenceView(view).getUint32(3)).toThrow(RangeError);
  });

  it('throws RangeError for negative, NaN and empty-array offsets, as DataView does', () => {
    const bytes = Uint8Array.of(1, 2, 3, 4);
    expect(() => readU8(bytes, -1)).toThrow(RangeError);
    expect(() => readU16(bytes, -1)).toThrow(RangeError);
    expect(() => readU32(bytes, Number.NaN)).toThrow(RangeError);
    expect(() => readU8(new Uint8Array(0), 0)).toThrow(RangeError);
    expect(() => readU16(inside([]), 0)).toThrow(/2-byte field at offset 0 is outside the 0-byte/);
  });

  it('matches DataView at every offset of random bytes', () => {
    const bytes = inside(
      Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 0xff),
      3,
    );
    const view = referenceView(bytes);
    for (let offset = 0; offset + 4 <= bytes.length; offset++) {
      expect(readU8(bytes, offset)).toBe(view.getUint8(offset));
      expect(readU16(bytes, offset)).toBe(view.getUint16(offset));
      expect(readU32(bytes, offset)).toBe(view.getUint32(offset));
    }
  });
});

describe('writeU16 / writeU32', () => {
  it.each([
    [0, [0, 0], [0, 0, 0, 0]],
    [0xffff, [0xff, 0xff], [0, 0, 0xff, 0xff]],
    [2 ** 31, [0, 0], [0x80, 0, 0, 0]],
    [0xffffffff, [0xff, 0xff], [0xff, 0xff, 0xff, 0xff]],
    [0x2112a442, [0xa4, 0x42], [0x21, 0x12, 0xa4, 0x42]],
  ])('writes %d big-endian', (value, u16, u32) => {
    const a = inside([0, 0, 0, 0]);
    writeU16(a, 0, value);
    expect(Array.from(a.subarray(0, 2))).toEqual(u16);
    const b = inside([0, 0, 0, 0]);
    writeU32(b, 0, value);
    expect(Array.from(b)).toEqual(u32);
  });

  it('writes relative to a subarray, at its end, leaving the parent around it untouched', () => {
    const view = inside([0, 0, 0, 0, 0, 0]);
    writeU16(view, 4, 0x0102);
    writeU32(view, 0, 0xa1b2c3d4);
    expect(Array.from(view)).toEqual([0xa1, 0xb2, 0xc3, 0xd4, 0x01, 0x02]);
    const parent = new Uint8Array(view.buffer);
    expect(Array.from(parent)).toEqual([
      0xee, 0xee, 0xee, 0xee, 0xee, 0xa1, 0xb2, 0xc3, 0xd4, 0x01, 0x02, 0xee, 0xee, 0xee,
    ]);
  });

  it('throws RangeError instead of dropping a write past the end, writing nothing', () => {
    const view = inside([0, 0, 0, 0, 0, 0]);
    expect(() => {
      writeU16(view, 5, 0xffff);
    }).toThrow(RangeError);
    expect(() => {
      writeU32(view, 3, 0xffffffff);
    }).toThrow(RangeError);
    expect(() => {
      writeU32(view, -1, 0);
    }).toThrow(RangeError);
    expect(Array.from(view)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(new Uint8Array(view.buffer)[11]).toBe(0xee);
  });

  it('takes values modulo 2^16 / 2^32 exactly as DataView does', () => {
    for (const value of [-1, -1.5, 1.5, 0x12345, 2 ** 32 + 5, -(2 ** 31), 1e20, Number.NaN]) {
      const ours = new Uint8Array(6);
      const reference = new Uint8Array(6);
      writeU16(ours, 0, value);
      writeU32(ours, 2, value);
      referenceView(reference).setUint16(0, value);
      referenceView(reference).setUint32(2, value);
      expect(Array.from(ours), String(value)).toEqual(Array.from(reference));
    }
  });
});
