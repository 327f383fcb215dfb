/**
 * The addon's HMAC (digest.c): RFC 2202 and RFC 4231 test vectors, agreement with node:crypto on
 * random keys and messages of every length class (empty, under and over a block, keys longer
 * than a block hashed first), arrays of every backing (views at an offset, small arrays V8 keeps
 * on its heap), and refused arguments.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { addon, describeNative } from './test-support.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describeNative('native HMAC', () => {
  it('matches the RFC 2202 HMAC-SHA1 and RFC 4231 HMAC-SHA256 vectors', () => {
    const hmac = addon!.hmac;
    // RFC 2202 test cases 1, 2 and 6 (a 80-byte key, longer than the 64-byte block).
    expect(toHex(hmac(false, new Uint8Array(20).fill(0x0b), text('Hi There')))).toBe(
      'b617318655057264e28bc0b6fb378c8ef146be00',
    );
    expect(toHex(hmac(false, text('Jefe'), text('what do ya want for nothing?')))).toBe(
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
    );
    expect(
      toHex(
        hmac(
          false,
          new Uint8Array(80).fill(0xaa),
          text('Test Using Larger Than Block-Size Key - Hash Key First'),
        ),
      ),
    ).toBe('aa4ae5e15272d00e95705637ce8a3b55ed402112');
    // RFC 4231 test cases 1 and 6 (a 131-byte key).
    expect(toHex(hmac(true, new Uint8Array(20).fill(0x0b), hex('4869205468657265')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(
      toHex(
        hmac(
          true,
          new Uint8Array(131).fill(0xaa),
          text('Test Using Larger Than Block-Size Key - Hash Key First'),
        ),
      ),
    ).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it('agrees with node:crypto on random keys and messages', () => {
    const bytes = (max: number) => fc.uint8Array({ maxLength: max });
    fc.assert(
      fc.property(fc.boolean(), bytes(200), bytes(2000), fc.nat(8), (sha256, key, data, skip) => {
        // A view at an offset into a larger array: only its own bytes count.
        const backing = new Uint8Array(skip + data.length + 3).fill(0xee);
        backing.set(data, skip);
        const view = backing.subarray(skip, skip + data.length);
        const expected = createHmac(sha256 ? 'sha256' : 'sha1', key)
          .update(data)
          .digest();
        const got = addon!.hmac(sha256, key, view);
        expect(got).toBeInstanceOf(Uint8Array);
        expect(toHex(got)).toBe(expected.toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('returns a new array per call, never the one it writes into', () => {
    const a = addon!.hmac(false, text('k'), text('one'));
    const b = addon!.hmac(false, text('k'), text('two'));
    expect(toHex(a)).toBe(createHmac('sha1', 'k').update('one').digest('hex'));
    expect(toHex(b)).toBe(createHmac('sha1', 'k').update('two').digest('hex'));
    expect(a.length).toBe(20);
    expect(addon!.hmac(true, text('k'), text('one')).length).toBe(32);
  });

  it('refuses arguments that are not byte arrays with a clear error', () => {
    const hmac = addon!.hmac as (...args: unknown[]) => Uint8Array;
    for (const args of [
      [false, 'key', text('data')],
      [false, text('key'), new Float64Array(2)],
      [false, text('key'), new DataView(new ArrayBuffer(4))],
      [false, text('key')],
    ]) {
      expect(() => hmac(...args)).toThrow(/hmac\(sha256, key, data/);
    }
  });
});
