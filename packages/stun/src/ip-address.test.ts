import { describe, expect, it } from 'vitest';
import { formatIpAddress, isIpv4Mapped, parseIpAddress } from './ip-address.js';

/** Any valid text → its canonical form (dotted IPv4, RFC 5952 IPv6). */
const CANONICAL: readonly (readonly [string, string])[] = [
  ['192.0.2.1', '192.0.2.1'],
  ['0.0.0.0', '0.0.0.0'],
  ['255.255.255.255', '255.255.255.255'],
  ['10.0.100.199', '10.0.100.199'],
  ['2001:db8::1', '2001:db8::1'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['2001:DB8::1', '2001:db8::1'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
  ['::', '::'],
  ['0:0:0:0:0:0:0:0', '::'],
  ['::1', '::1'],
  ['1::', '1::'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
  ['fe80::1:2', 'fe80::1:2'],
  ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
  ['::FFFF:c000:0201', '::ffff:192.0.2.1'],
  ['0:0:0:0:0:ffff:192.0.2.1', '::ffff:192.0.2.1'],
  ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ['2001:db8:1234:5678:11:2233:4455:6677', '2001:db8:1234:5678:11:2233:4455:6677'],
];

const INVALID: readonly string[] = [
  '',
  '1',
  '1.2.3',
  '1.2.3.4.5',
  '256.1.1.1',
  '01.2.3.4',
  '1.2.3.-1',
  '1.2.3.4 ',
  '1.2.3.0x1',
  '1..2.3',
  '.1.2.3',
  '1.2.3.',
  '1.2.3.4.',
  '00.1.2.3',
  '1.2.3.1000',
  '1.2.3.255a',
  '+1.2.3.4',
  '1.2.3.4\n',
  '1.2.3.\u0664',
  ':::',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7',
  '1::2::3',
  '12345::',
  'g::',
  'fe80::1%eth0',
  '::ffff:1.2.3',
  '::ffff:1.2.3.256',
  '1:2:3:4:5:6:7:8::',
  '::1.2.3.4:5',
  ':1::',
  '1:',
  '1:2:3:4:5:6:7:1.2.3.4',
  '1:2:3:4:5:6:7::8',
];

describe('parseIpAddress / formatIpAddress', () => {
  it.each(CANONICAL)('parses %s and formats it canonically as %s', (text, canonical) => {
    const bytes = parseIpAddress(text);
    expect(bytes).toBeDefined();
    expect(formatIpAddress(bytes!)).toBe(canonical);
    expect(parseIpAddress(canonical)).toEqual(bytes);
  });

  it.each(INVALID)('rejects %j', (text) => {
    expect(parseIpAddress(text)).toBeUndefined();
  });

  it('returns undefined when formatting a length other than 4 or 16', () => {
    expect(formatIpAddress(new Uint8Array(5))).toBeUndefined();
  });

  it('recognizes IPv4-mapped addresses only at 16 bytes with the ::ffff prefix', () => {
    expect(isIpv4Mapped(parseIpAddress('::ffff:1.2.3.4')!)).toBe(true);
    expect(isIpv4Mapped(parseIpAddress('::fffe:1.2.3.4')!)).toBe(false);
    expect(isIpv4Mapped(parseIpAddress('1.2.3.4')!)).toBe(false);
  });
});
