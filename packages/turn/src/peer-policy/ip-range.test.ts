import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from './ip-address.js';
import { formatIpRange, parseIpRange, rangeContains } from './ip-range.js';

describe('parseIpRange', () => {
  const valid: { text: string; first: string; last: string; prefixLength: number | undefined }[] = [
    { text: '10.0.0.0/8', first: '10.0.0.0', last: '10.255.255.255', prefixLength: 8 },
    { text: '192.168.1.5/24', first: '192.168.1.0', last: '192.168.1.255', prefixLength: 24 },
    { text: '100.64.0.0/10', first: '100.64.0.0', last: '100.127.255.255', prefixLength: 10 },
    { text: '0.0.0.0/0', first: '0.0.0.0', last: '255.255.255.255', prefixLength: 0 },
    { text: '8.8.8.8/32', first: '8.8.8.8', last: '8.8.8.8', prefixLength: 32 },
    { text: '8.8.8.8', first: '8.8.8.8', last: '8.8.8.8', prefixLength: 32 },
    {
      text: 'fc00::/7',
      first: 'fc00::',
      last: 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      prefixLength: 7,
    },
    { text: '2001:db8::1', first: '2001:db8::1', last: '2001:db8::1', prefixLength: 128 },
    { text: '::/0', first: '::', last: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', prefixLength: 0 },
    {
      text: '172.17.0.0-172.17.255.255',
      first: '172.17.0.0',
      last: '172.17.255.255',
      prefixLength: undefined,
    },
    { text: '10.0.0.5-10.0.0.5', first: '10.0.0.5', last: '10.0.0.5', prefixLength: undefined },
    { text: 'fe80::-fe80::ff', first: 'fe80::', last: 'fe80::ff', prefixLength: undefined },
    // IPv4-mapped ranges are stored as the IPv4 range they denote.
    { text: '::ffff:10.0.0.0/104', first: '10.0.0.0', last: '10.255.255.255', prefixLength: 8 },
    { text: '::ffff:1.2.3.4', first: '1.2.3.4', last: '1.2.3.4', prefixLength: 32 },
    {
      text: '::ffff:1.0.0.0-::ffff:1.0.0.9',
      first: '1.0.0.0',
      last: '1.0.0.9',
      prefixLength: undefined,
    },
  ];
  for (const c of valid) {
    it(`parses ${c.text}`, () => {
      const range = parseIpRange(c.text);
      expect(formatIp(range.first)).toBe(c.first);
      expect(formatIp(range.last)).toBe(c.last);
      expect(range.prefixLength).toBe(c.prefixLength);
      expect(range.text).toBe(c.text);
    });
  }

  const invalid: { text: string; message: string }[] = [
    { text: '', message: "ip range: '' is not an ip address, cidr (a.b.c.d/n) or range (a-b)" },
    { text: 'example.com', message: "'example.com' is not an ip address" },
    { text: '10.0.0.0/33', message: "'10.0.0.0/33' has prefix length '33', expected 0..32" },
    { text: '10.0.0.0/', message: "has prefix length '', expected 0..32" },
    { text: '10.0.0.0/08', message: "has prefix length '08'" },
    { text: '10.0.0.0/-1', message: "has prefix length '-1'" },
    { text: '::/129', message: 'expected 0..128' },
    { text: '10.0.0/8', message: "'10.0.0/8' does not start with an ip address" },
    { text: '10.0.0.9-10.0.0.1', message: 'has its first address after its last' },
    { text: '10.0.0.1-::1', message: 'mixes ipv4 and ipv6' },
    { text: '10.0.0.1-', message: "ends with '', not an ip address" },
    { text: 'x-10.0.0.1', message: "starts with 'x', not an ip address" },
    { text: '1.1.1.1-2.2.2.2-3.3.3.3', message: 'has more than one "-"' },
  ];
  for (const c of invalid) {
    it(`refuses ${JSON.stringify(c.text)} with ERR_TURN_INVALID_OPTION`, () => {
      expect(() => parseIpRange(c.text)).toThrow(c.message);
      expect(() => parseIpRange(c.text)).toThrow(
        expect.objectContaining({ code: 'ERR_TURN_INVALID_OPTION', name: 'InvalidOptionError' }),
      );
    });
  }

  it('names the option in the message', () => {
    expect(() => parseIpRange('nope', 'deniedPeerIps[3]')).toThrow(/^deniedPeerIps\[3\]: 'nope'/);
  });
});

describe('rangeContains', () => {
  const cases: { range: string; address: string; contains: boolean }[] = [
    { range: '10.0.0.0/8', address: '10.0.0.0', contains: true },
    { range: '10.0.0.0/8', address: '10.255.255.255', contains: true },
    { range: '10.0.0.0/8', address: '11.0.0.0', contains: false },
    { range: '10.0.0.0/8', address: '9.255.255.255', contains: false },
    { range: '172.17.0.0-172.17.255.255', address: '172.17.3.4', contains: true },
    { range: '172.17.0.0-172.17.255.255', address: '172.18.0.0', contains: false },
    { range: 'fc00::/7', address: 'fdff::1', contains: true },
    { range: 'fc00::/7', address: 'fe00::', contains: false },
    // Families never mix: ::/0 does not contain IPv4 addresses, 0.0.0.0/0 no IPv6 ones.
    { range: '::/0', address: '1.2.3.4', contains: false },
    { range: '0.0.0.0/0', address: '::1', contains: false },
  ];
  for (const c of cases) {
    it(`${c.range} ${c.contains ? 'contains' : 'does not contain'} ${c.address}`, () => {
      expect(rangeContains(parseIpRange(c.range), parseIp(c.address)!)).toBe(c.contains);
    });
  }
});

describe('formatIpRange', () => {
  it.each([
    ['192.168.1.5/24', '192.168.1.0/24'],
    ['2001:0db8::/32', '2001:db8::/32'],
    ['10.0.0.1-10.0.0.9', '10.0.0.1-10.0.0.9'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
  ])('formats %s as %s', (text, expected) => {
    expect(formatIpRange(parseIpRange(text))).toBe(expected);
  });
});
