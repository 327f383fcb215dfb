import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from './errors.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';

describe('utf8', () => {
  it('round-trips text with multi-byte and astral characters', () => {
    const text = 'héllo \u30de\u30c8 \u{1f600}';
    expect(decodeUtf8('x', encodeUtf8('x', text))).toBe(text);
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xe3, 0x83]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a surrogate code point', [0xed, 0xa0, 0x80]],
  ])('rejects %s with StunDecodeError at the given place', (_name, bytes) => {
    expect(() => decodeUtf8('attribute/REALM', Uint8Array.from(bytes))).toThrow(StunDecodeError);
    expect(() => decodeUtf8('attribute/REALM', Uint8Array.from(bytes))).toThrow(
      /^attribute\/REALM: invalid utf-8/,
    );
  });

  it('keeps a leading byte-order mark', () => {
    expect(decodeUtf8('x', Uint8Array.of(0xef, 0xbb, 0xbf, 0x61))).toBe('\ufeffa');
  });

  it('rejects text with an unpaired surrogate on encode', () => {
    expect(() => encodeUtf8('attribute/USERNAME', 'a\ud800b')).toThrow(StunEncodeError);
    expect(() => encodeUtf8('attribute/USERNAME', `${'a'.repeat(63)}\udc00`)).toThrow(
      StunEncodeError,
    );
  });

  it('encodes as TextEncoder does, short ASCII text included', () => {
    const encoder = new TextEncoder();
    for (const text of ['', 'a', 'x'.repeat(64), 'x'.repeat(65), `${'x'.repeat(63)}é`, '\u007f']) {
      expect(encodeUtf8('x', text)).toEqual(encoder.encode(text));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (text) => {
        expect(encodeUtf8('x', text)).toEqual(encoder.encode(text));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), (text) => {
        expect(encodeUtf8('x', text)).toEqual(encoder.encode(text));
      }),
    );
  });
});
