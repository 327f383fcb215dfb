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
  });
});
