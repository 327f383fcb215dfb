import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import { unknownAttributes } from './unknown-attributes.js';

const ctx = { transactionId: new Uint8Array(12) };

describe('UNKNOWN-ATTRIBUTES', () => {
  it.each([[[]], [[0x001a]], [[0x001a, 0x7fff, 0x0030]]])('round-trips %j', (types) => {
    const bytes = unknownAttributes.encode(types, ctx);
    expect(bytes.length).toBe(types.length * 2);
    expect(unknownAttributes.decode(bytes, ctx)).toEqual(types);
  });

  it('rejects an odd length', () => {
    expect(() => unknownAttributes.decode(Uint8Array.of(0, 1, 2), ctx)).toThrow(StunDecodeError);
    expect(() => unknownAttributes.decode(Uint8Array.of(0, 1, 2), ctx)).toThrow(
      'attribute/UNKNOWN-ATTRIBUTES: length 3, expected even',
    );
  });

  it('rejects types above 0xffff and lists over 65535 bytes', () => {
    expect(() => unknownAttributes.encode([0x10000], ctx)).toThrow(StunEncodeError);
    expect(() => unknownAttributes.encode(new Array<number>(40000).fill(1), ctx)).toThrow(
      StunEncodeError,
    );
  });
});
