import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import { fingerprint, messageIntegrity, messageIntegritySha256 } from './integrity.js';

const ctx = { transactionId: new Uint8Array(12) };

describe('integrity attributes', () => {
  it('MESSAGE-INTEGRITY is exactly 20 bytes, decoded as a view', () => {
    const bytes = new Uint8Array(20).fill(7);
    expect(messageIntegrity.decode(bytes, ctx)).toBe(bytes);
    expect(messageIntegrity.encode(bytes, ctx)).toBe(bytes);
    for (const n of [0, 19, 21, 32]) {
      expect(() => messageIntegrity.decode(new Uint8Array(n), ctx)).toThrow(
        `attribute/MESSAGE-INTEGRITY: length ${n}, expected 20`,
      );
      expect(() => messageIntegrity.encode(new Uint8Array(n), ctx)).toThrow(StunEncodeError);
    }
  });

  it.each([16, 20, 24, 28, 32])('MESSAGE-INTEGRITY-SHA256 accepts %i bytes', (n) => {
    const bytes = new Uint8Array(n);
    expect(messageIntegritySha256.decode(bytes, ctx)).toBe(bytes);
    expect(messageIntegritySha256.encode(bytes, ctx)).toBe(bytes);
  });

  it.each([0, 12, 15, 17, 18, 30, 33, 36])('MESSAGE-INTEGRITY-SHA256 rejects %i bytes', (n) => {
    expect(() => messageIntegritySha256.decode(new Uint8Array(n), ctx)).toThrow(StunDecodeError);
    expect(() => messageIntegritySha256.decode(new Uint8Array(n), ctx)).toThrow(
      'attribute/MESSAGE-INTEGRITY-SHA256',
    );
    expect(() => messageIntegritySha256.encode(new Uint8Array(n), ctx)).toThrow(StunEncodeError);
  });

  it('FINGERPRINT is a uint32', () => {
    expect(fingerprint.encode(0xe57a3bcf, ctx)).toEqual(Uint8Array.of(0xe5, 0x7a, 0x3b, 0xcf));
    expect(fingerprint.decode(Uint8Array.of(0xe5, 0x7a, 0x3b, 0xcf), ctx)).toBe(0xe57a3bcf);
    expect(() => fingerprint.decode(new Uint8Array(8), ctx)).toThrow(
      'attribute/FINGERPRINT: length 8, expected 4',
    );
  });
});
