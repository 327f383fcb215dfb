import { describe, expect, it } from 'vitest';
import { nodeStunCrypto } from './node-crypto.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('nodeStunCrypto', () => {
  it('computes MD5, SHA-256 and HMACs (RFC 1321, FIPS 180-4, RFC 2202/4231 vectors)', () => {
    expect(hex(nodeStunCrypto.md5(text('abc')))).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(hex(nodeStunCrypto.sha256(text('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(nodeStunCrypto.hmacSha1(text('Jefe'), text('what do ya want for nothing?')))).toBe(
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
    );
    expect(hex(nodeStunCrypto.hmacSha256(text('Jefe'), text('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('returns plain Uint8Arrays, not Buffers', () => {
    expect(Object.getPrototypeOf(nodeStunCrypto.md5(text('x')))).toBe(Uint8Array.prototype);
  });
});
