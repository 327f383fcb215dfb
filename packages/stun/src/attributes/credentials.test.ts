import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import { accessToken, passwordAlgorithm, passwordAlgorithms, userhash } from './credentials.js';

const ctx = { transactionId: new Uint8Array(12) };
const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

describe('credential attributes', () => {
  it('USERHASH is exactly 32 bytes', () => {
    const bytes = new Uint8Array(32).fill(1);
    expect(userhash.decode(bytes, ctx)).toBe(bytes);
    expect(() => userhash.decode(new Uint8Array(31), ctx)).toThrow(
      'attribute/USERHASH: length 31, expected 32',
    );
    expect(() => userhash.encode(new Uint8Array(33), ctx)).toThrow(StunEncodeError);
  });

  it('ACCESS-TOKEN is opaque bytes of any length up to 65535', () => {
    for (const n of [0, 1, 300]) {
      const bytes = new Uint8Array(n).fill(9);
      expect(accessToken.decode(accessToken.encode(bytes, ctx), ctx)).toEqual(bytes);
    }
    expect(() => accessToken.encode(new Uint8Array(65536), ctx)).toThrow(
      'attribute/ACCESS-TOKEN: length 65536, max 65535',
    );
  });

  it('PASSWORD-ALGORITHM encodes algorithm, parameter length and padded parameters', () => {
    expect(passwordAlgorithm.encode({ algorithm: 2, parameters: new Uint8Array(0) }, ctx)).toEqual(
      hex('00020000'),
    );
    expect(
      passwordAlgorithm.encode({ algorithm: 1, parameters: Uint8Array.of(0xaa) }, ctx),
    ).toEqual(hex('00010001aa000000'));
    expect(passwordAlgorithm.decode(hex('00010001aa000000'), ctx)).toEqual({
      algorithm: 1,
      parameters: Uint8Array.of(0xaa),
    });
    // The last parameters may be left unpadded inside the value (attribute padding covers them).
    expect(passwordAlgorithm.decode(hex('00010001aa'), ctx)).toEqual({
      algorithm: 1,
      parameters: Uint8Array.of(0xaa),
    });
  });

  it.each([
    ['an empty value', '', '0 algorithm entries'],
    ['a truncated header', '0001', 'truncated algorithm entry at offset 0 of 2'],
    [
      'parameters past the end',
      '00010008aabb',
      'parameters length 8 at offset 0 runs past 6 bytes',
    ],
    ['two entries', '0001000000020000', '2 algorithm entries in 8 bytes, expected 1'],
  ])('PASSWORD-ALGORITHM rejects %s', (_case, bytes, reason) => {
    expect(() => passwordAlgorithm.decode(hex(bytes), ctx)).toThrow(StunDecodeError);
    expect(() => passwordAlgorithm.decode(hex(bytes), ctx)).toThrow(
      `attribute/PASSWORD-ALGORITHM: ${reason}`,
    );
  });

  it('PASSWORD-ALGORITHMS round-trips a list, including parameters and an empty list', () => {
    const list = [
      { algorithm: 2, parameters: new Uint8Array(0) },
      { algorithm: 1, parameters: Uint8Array.of(1, 2, 3, 4, 5) },
      { algorithm: 0xffff, parameters: Uint8Array.of(6) },
    ];
    const bytes = passwordAlgorithms.encode(list, ctx);
    expect(bytes.length).toBe(4 + 12 + 8);
    expect(passwordAlgorithms.decode(bytes, ctx)).toEqual(list);
    expect(passwordAlgorithms.decode(passwordAlgorithms.encode([], ctx), ctx)).toEqual([]);
    expect(() => passwordAlgorithms.decode(hex('00020000000100'), ctx)).toThrow(
      'attribute/PASSWORD-ALGORITHMS: truncated algorithm entry at offset 4 of 7',
    );
  });

  it('rejects algorithm numbers above 0xffff and lists longer than 65535 bytes', () => {
    expect(() =>
      passwordAlgorithm.encode({ algorithm: 0x10000, parameters: new Uint8Array(0) }, ctx),
    ).toThrow(StunEncodeError);
    const big = { algorithm: 1, parameters: new Uint8Array(40000) };
    expect(() => passwordAlgorithms.encode([big, big], ctx)).toThrow(
      'attribute/PASSWORD-ALGORITHMS: length 80008, max 65535',
    );
  });
});
