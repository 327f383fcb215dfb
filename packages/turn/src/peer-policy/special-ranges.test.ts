import { describe, expect, it } from 'vitest';
import { parseIp } from './ip-address.js';
import { formatIpRange } from './ip-range.js';
import { IPV4_SPECIAL_RANGES, IPV6_SPECIAL_RANGES, findSpecialRange } from './special-ranges.js';

describe('special-range tables', () => {
  const required = {
    ipv4: [
      '0.0.0.0/8',
      '10.0.0.0/8',
      '100.64.0.0/10',
      '127.0.0.0/8',
      '169.254.0.0/16',
      '172.16.0.0/12',
      '192.0.0.0/24',
      '192.0.2.0/24',
      '192.88.99.0/24',
      '192.168.0.0/16',
      '198.18.0.0/15',
      '198.51.100.0/24',
      '203.0.113.0/24',
      '224.0.0.0/4',
      '240.0.0.0/4',
      '255.255.255.255/32',
    ],
    ipv6: [
      '::/128',
      '::1/128',
      '64:ff9b::/96',
      '64:ff9b:1::/48',
      '100::/64',
      '2001::/23',
      '2001::/32',
      '2001:db8::/32',
      '3fff::/20',
      '2002::/16',
      'fc00::/7',
      'fe80::/10',
      'fec0::/10',
      'ff00::/8',
    ],
  };

  it.each(required.ipv4)('lists IPv4 %s', (cidr) => {
    expect(IPV4_SPECIAL_RANGES.map((r) => r.cidr)).toContain(cidr);
  });
  it.each(required.ipv6)('lists IPv6 %s', (cidr) => {
    expect(IPV6_SPECIAL_RANGES.map((r) => r.cidr)).toContain(cidr);
  });

  it('writes every entry in canonical CIDR form, with a name and a reference', () => {
    for (const entry of [...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES]) {
      expect(formatIpRange(entry.range)).toBe(entry.cidr);
      expect(entry.name).toMatch(/^[a-z0-9 ()\-/.]+$/);
      expect(entry.reference).toMatch(/^RFC \d+/);
    }
  });

  it('keeps each family in its own table', () => {
    expect(IPV4_SPECIAL_RANGES.every((r) => r.range.first.length === 4)).toBe(true);
    expect(IPV6_SPECIAL_RANGES.every((r) => r.range.first.length === 16)).toBe(true);
  });
});

describe('findSpecialRange', () => {
  const cases: { address: string; cidr: string | undefined }[] = [
    { address: '127.0.0.1', cidr: '127.0.0.0/8' },
    { address: '169.254.169.254', cidr: '169.254.0.0/16' },
    { address: '255.255.255.255', cidr: '255.255.255.255/32' },
    { address: '255.255.255.254', cidr: '240.0.0.0/4' },
    { address: '8.8.8.8', cidr: undefined },
    { address: '::', cidr: '::/128' },
    { address: '::1', cidr: '::1/128' },
    { address: '::10.0.0.1', cidr: '::/96' },
    { address: '::1:0:0:1', cidr: '::/8' },
    { address: '64:ff9b::1.2.3.4', cidr: '64:ff9b::/96' },
    { address: '2001::1', cidr: '2001::/32' },
    { address: '2001:1::2', cidr: '2001::/23' },
    { address: '2001:200::1', cidr: undefined },
    { address: '2606:4700::1111', cidr: undefined },
    { address: '4000::1', cidr: '4000::/3' },
    { address: '5f00::1', cidr: '5f00::/16' },
    { address: 'fe80::1', cidr: 'fe80::/10' },
    { address: 'fe00::1', cidr: 'fe00::/9' },
  ];
  for (const c of cases) {
    it(`finds ${c.cidr ?? 'nothing'} for ${c.address} (longest prefix wins)`, () => {
      expect(findSpecialRange(parseIp(c.address)!)?.cidr).toBe(c.cidr);
    });
  }
});
