import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyFirstBytes } from './first-bytes.js';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const STUN_BINDING = bytes(0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4);

describe('classifyFirstBytes', () => {
  it.each([
    ['a STUN Binding request', 'turn', STUN_BINDING],
    ['a STUN Allocate request', 'turn', bytes(0x00, 0x03, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42)],
    ['ChannelData', 'turn', bytes(0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4)],
    ['an HTTP GET', 'http', text('GET / HTTP/1.1\r\n')],
    ['an HTTP OPTIONS', 'http', text('OPTIONS * HTTP/1.1\r\n')],
    ['a STUN header without the magic cookie', 'unknown', bytes(0, 1, 0, 0, 1, 2, 3, 4)],
    ['a TLS record (TLS inside TLS)', 'unknown', bytes(0x16, 0x03, 0x01, 0x00, 0x10, 1, 2, 3)],
    ['bytes above 0x7F', 'unknown', bytes(0xff, 0xfe, 0, 0)],
    ['a lower-case method (ChannelData range)', 'turn', text('get / HTTP/1.1')],
    ['a method token too long', 'turn', text('ABCDEFGHIJKLMNOPQRS / HTTP/1.1')],
    ['nothing', 'incomplete', bytes()],
    ['half a STUN header', 'incomplete', bytes(0x00, 0x01, 0x00, 0x00, 0x21, 0x12)],
    ['half a method', 'incomplete', text('GE')],
  ] as const)('classifies %s as %s', (_name, kind, input) => {
    expect(classifyFirstBytes(input)).toBe(kind);
  });

  it('never changes its mind once decided, however many bytes follow (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        const first = classifyFirstBytes(a);
        if (first === 'incomplete') return;
        expect(classifyFirstBytes(new Uint8Array([...a, ...b]))).toBe(first);
      }),
      { numRuns: 500 },
    );
  });

  it('decides within 17 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 17, maxLength: 64 }), (input) => {
        expect(classifyFirstBytes(input)).not.toBe('incomplete');
      }),
      { numRuns: 500 },
    );
  });
});
