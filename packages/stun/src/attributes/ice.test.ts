import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import { iceControlled, iceControlling, priority, useCandidate } from './ice.js';

const ctx = { transactionId: new Uint8Array(12) };

describe('ICE attributes', () => {
  it('PRIORITY is a uint32', () => {
    expect(priority.decode(priority.encode(0x6e0001ff, ctx), ctx)).toBe(0x6e0001ff);
    expect(() => priority.decode(new Uint8Array(2), ctx)).toThrow(
      'attribute/PRIORITY: length 2, expected 4',
    );
  });

  it('USE-CANDIDATE is empty and decodes as true', () => {
    expect(useCandidate.encode(true, ctx)).toEqual(new Uint8Array(0));
    expect(useCandidate.decode(new Uint8Array(0), ctx)).toBe(true);
    expect(() => useCandidate.decode(new Uint8Array(4), ctx)).toThrow(StunDecodeError);
  });

  it.each([iceControlled, iceControlling])('$name is a 64-bit tie-breaker', (codec) => {
    for (const value of [0n, 1n, 0x932ff9b151263b36n, 0xffffffffffffffffn]) {
      const bytes = codec.encode(value, ctx);
      expect(bytes.length).toBe(8);
      expect(codec.decode(bytes, ctx)).toBe(value);
    }
    expect(() => codec.encode(-1n, ctx)).toThrow(StunEncodeError);
    expect(() => codec.encode(2n ** 64n, ctx)).toThrow(StunEncodeError);
    expect(() => codec.decode(new Uint8Array(4), ctx)).toThrow(
      `attribute/${codec.name}: length 4, expected 8`,
    );
  });
});
