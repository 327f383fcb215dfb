import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareIp, formatIp, isIpv4Mapped, parseIp } from './ip-address.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const v6 = (...groups: number[]): Uint8Array =>
  Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));

describe('parseIp', () => {
  const valid: { text: string; expected: Uint8Array }[] = [
    { text: '0.0.0.0', expected: bytes(0, 0, 0, 0) },
    { text: '192.0.2.1', expected: bytes(192, 0, 2, 1) },
    { text: '255.255.255.255', expected: bytes(255, 255, 255, 255) },
    { text: '::', expected: v6(0, 0, 0, 0, 0, 0, 0, 0) },
    { text: '::1', expected: v6(0, 0, 0, 0, 0, 0, 0, 1) },
    { text: '1::', expected: v6(1, 0, 0, 0, 0, 0, 0, 0) },
    { text: '2001:db8::ff00:42:8329', expected: v6(0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329) },
    {
      text: '2001:0DB8:0000:0000:0000:FF00:0042:8329',
      expected: v6(0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329),
    },
    { text: '1:2:3:4:5:6:7::', expected: v6(1, 2, 3, 4, 5, 6, 7, 0) },
    { text: '::2:3:4:5:6:7:8', expected: v6(0, 2, 3, 4, 5, 6, 7, 8) },
    { text: '::ffff:192.0.2.1', expected: v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201) },
    { text: '::192.0.2.1', expected: v6(0, 0, 0, 0, 0, 0, 0xc000, 0x201) },
    { text: '64:ff9b::10.0.0.1', expected: v6(0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1) },
    { text: '1:2:3:4:5:6:1.2.3.4', expected: v6(1, 2, 3, 4, 5, 6, 0x102, 0x304) },
  ];
  for (const c of valid) {
    it(`parses ${c.text}`, () => {
      expect(parseIp(c.text)).toEqual(c.expected);
    });
  }

  const invalid = [
    '',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3.04',
    '0x7f.0.0.1',
    '127.1',
    '1.2.3.-4',
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    ':1::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '[::1]',
    '::1.2.3',
    '::1.2.3.4:5',
    '1.2.3.4::',
    '1:2:3:4:5:6:7:1.2.3.4',
    'localhost',
  ];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      expect(parseIp(text)).toBeUndefined();
    });
  }
});

describe('formatIp', () => {
  // RFC 5952 §4 examples and edge cases.
  const cases: { bytes: Uint8Array; text: string }[] = [
    { bytes: bytes(10, 0, 0, 1), text: '10.0.0.1' },
    { bytes: v6(0, 0, 0, 0, 0, 0, 0, 0), text: '::' },
    { bytes: v6(0, 0, 0, 0, 0, 0, 0, 1), text: '::1' },
    { bytes: v6(0x2001, 0xdb8, 0, 0, 0, 0, 2, 1), text: '2001:db8::2:1' },
    { bytes: v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), text: '2001:db8:0:1:1:1:1:1' },
    { bytes: v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), text: '2001:db8::1:0:0:1' },
    { bytes: v6(0x2001, 0, 0, 1, 0, 0, 0, 1), text: '2001:0:0:1::1' },
    {
      bytes: v6(0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 0),
      text: '2001:db8:aaaa:bbbb:cccc:dddd:eeee:0',
    },
    { bytes: v6(1, 0, 0, 0, 0, 0, 0, 0), text: '1::' },
    { bytes: v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201), text: '::ffff:192.0.2.1' },
    { bytes: v6(0, 0, 0, 0, 0, 0, 0xc000, 0x201), text: '::c000:201' },
  ];
  for (const c of cases) {
    it(`formats ${c.text}`, () => {
      expect(formatIp(c.bytes)).toBe(c.text);
    });
  }

  it('throws ERR_TURN_INVALID_ARGUMENT for a length other than 4 or 16', () => {
    expect(() => formatIp(new Uint8Array(5))).toThrow(
      expect.objectContaining({
        code: 'ERR_TURN_INVALID_ARGUMENT',
        message: 'formatIp: expected 4 or 16 bytes, got 5',
      }),
    );
  });

  it('round-trips any IPv4 or IPv6 address', () => {
    const address = fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      // Many zero groups, to exercise `::` placement.
      fc
        .array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 })
        .map((g) => v6(...g)),
    );
    fc.assert(
      fc.property(address, (b) => {
        expect(parseIp(formatIp(b))).toEqual(b);
      }),
    );
  });

  it('agrees with the WHATWG URL serializer on non-mapped IPv6 (also RFC 5952)', () => {
    const groups = fc.array(fc.constantFrom(0, 0, 1, 0xabc, 0xffff), {
      minLength: 8,
      maxLength: 8,
    });
    fc.assert(
      fc.property(groups, (g) => {
        const b = v6(...g);
        fc.pre(!isIpv4Mapped(b));
        expect(`[${formatIp(b)}]`).toBe(
          new URL(`http://[${g.map((x) => x.toString(16)).join(':')}]/`).hostname,
        );
      }),
    );
  });
});

describe('compareIp and isIpv4Mapped', () => {
  it('orders addresses as big-endian numbers', () => {
    expect(compareIp(bytes(10, 0, 0, 1), bytes(10, 0, 0, 2))).toBeLessThan(0);
    expect(compareIp(bytes(10, 0, 1, 0), bytes(10, 0, 0, 255))).toBeGreaterThan(0);
    expect(compareIp(bytes(1, 2, 3, 4), bytes(1, 2, 3, 4))).toBe(0);
  });

  it('recognises ::ffff:0:0/96 only', () => {
    expect(isIpv4Mapped(parseIp('::ffff:1.2.3.4')!)).toBe(true);
    expect(isIpv4Mapped(parseIp('::fffe:1.2.3.4')!)).toBe(false);
    expect(isIpv4Mapped(parseIp('1.2.3.4')!)).toBe(false);
  });
});
