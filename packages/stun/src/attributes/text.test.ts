import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import { alternateDomain, nonce, realm, software, username } from './text.js';

const ctx = { transactionId: new Uint8Array(12) };

describe.each([
  [username, 513],
  [realm, 763],
  [nonce, 763],
  [software, 763],
  [alternateDomain, 255],
] as const)('$name', (codec, maxBytes) => {
  it('round-trips UTF-8 text', () => {
    for (const text of ['', 'a', 'example.org', '\u30de\u30c8\u30ea\u30c3\u30af\u30b9']) {
      expect(codec.decode(codec.encode(text, ctx), ctx)).toBe(text);
    }
  });

  it(`accepts exactly ${maxBytes} bytes and rejects one more`, () => {
    const max = 'x'.repeat(maxBytes);
    expect(codec.decode(codec.encode(max, ctx), ctx)).toBe(max);
    expect(() => codec.encode(`${max}x`, ctx)).toThrow(StunEncodeError);
    expect(() => codec.decode(new Uint8Array(maxBytes + 1).fill(0x61), ctx)).toThrow(
      `attribute/${codec.name}: length ${maxBytes + 1}, max ${maxBytes}`,
    );
  });

  it('counts bytes, not characters', () => {
    const text = '\u00e9'.repeat(Math.floor(maxBytes / 2) + 1);
    expect(() => codec.encode(text, ctx)).toThrow(StunEncodeError);
  });

  it('rejects invalid UTF-8 with StunDecodeError naming the attribute', () => {
    expect(() => codec.decode(Uint8Array.of(0x61, 0xff), ctx)).toThrow(StunDecodeError);
    expect(() => codec.decode(Uint8Array.of(0x61, 0xff), ctx)).toThrow(`attribute/${codec.name}`);
  });
});
