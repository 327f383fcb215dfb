import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';

describe('crc32', () => {
  it('matches the standard check value and the empty input', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('matches zlib on assorted inputs, including subarray views', () => {
    const big = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    for (const input of [Uint8Array.of(0), Uint8Array.of(0xff, 0xff), big, big.subarray(17, 333)]) {
      expect(crc32(input)).toBe(zlibCrc32(input));
    }
  });
});
