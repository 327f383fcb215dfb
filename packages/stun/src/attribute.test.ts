import { describe, expect, it } from 'vitest';
import {
  attr,
  checkEncodeOverflow,
  checkOverflow,
  checkSize,
  checkUint,
  padLength,
  rawAttr,
} from './attribute.js';
import { lifetime } from './attributes/turn.js';
import { StunDecodeError, StunEncodeError } from './errors.js';

const ctx = { transactionId: new Uint8Array(12) };

describe('attribute helpers', () => {
  it.each([
    [0, 0],
    [1, 4],
    [3, 4],
    [4, 4],
    [5, 8],
    [65535, 65536],
  ])('pads length %i to %i', (n, padded) => {
    expect(padLength(n)).toBe(padded);
  });

  it('attr() binds a codec and value into an entry encoded on demand', () => {
    const entry = attr(lifetime, 600);
    expect(entry.type).toBe(0x000d);
    expect(entry.encode(ctx)).toEqual(Uint8Array.of(0, 0, 2, 0x58));
  });

  it('rawAttr() passes bytes through unchanged', () => {
    const value = Uint8Array.of(1, 2, 3);
    const entry = rawAttr(0x7fff, value);
    expect(entry.type).toBe(0x7fff);
    expect(entry.encode(ctx)).toBe(value);
  });

  it('checkSize throws StunDecodeError naming the attribute and both lengths', () => {
    expect(() => {
      checkSize('LIFETIME', 4, 4);
    }).not.toThrow();
    expect(() => {
      checkSize('LIFETIME', 3, 4);
    }).toThrow(new StunDecodeError('attribute/LIFETIME', 'length 3, expected 4'));
  });

  it('checkOverflow and checkEncodeOverflow throw above the maximum only', () => {
    expect(() => {
      checkOverflow('NONCE', 763, 763);
    }).not.toThrow();
    expect(() => {
      checkOverflow('NONCE', 764, 763);
    }).toThrow('attribute/NONCE: length 764, max 763');
    expect(() => {
      checkEncodeOverflow('NONCE', 764, 763);
    }).toThrow(StunEncodeError);
  });

  it.each([-1, 1.5, 256, Number.NaN])('checkUint rejects %d for a uint8', (value) => {
    expect(() => {
      checkUint('X', value, 0xff);
    }).toThrow(StunEncodeError);
  });
});
