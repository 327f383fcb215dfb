import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from './ip-address.js';
import { createPeerPolicy } from './peer-policy.js';
import type { PeerDecision, PeerPolicyConfig } from './peer-policy.js';

/** Builders of every IPv6 form that embeds an IPv4 address. */
const hex16 = (b: Uint8Array, i: number): string =>
  (((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16);
const v4 = (text: string): Uint8Array => parseIp(text)!;

function teredo(server: string, client: string): string {
  const s = v4(server);
  const c = v4(client).map((x) => x ^ 0xff);
  // 2001:0000:server:flags:port:client (RFC 4380 §4); flags 0x8000, port 0x1234 (obfuscated).
  return formatIp(
    parseIp(`2001:0:${hex16(s, 0)}:${hex16(s, 2)}:8000:edcb:${hex16(c, 0)}:${hex16(c, 2)}`)!,
  );
}

/** The forms carrying one IPv4 address. */
const SINGLE_EMBEDDINGS: Record<string, (a: string) => string> = {
  'ipv4-mapped': (a) => `::ffff:${a}`,
  'ipv4-mapped (hex)': (a) => `::ffff:${hex16(v4(a), 0)}:${hex16(v4(a), 2)}`,
  'ipv4-compatible': (a) => `::${a}`,
  '6to4': (a) => `2002:${hex16(v4(a), 0)}:${hex16(v4(a), 2)}::1`,
  nat64: (a) => `64:ff9b::${a}`,
  'nat64 local-use': (a) => `64:ff9b:1::${a}`,
};

const EMBEDDINGS: Record<string, (a: string) => string> = {
  ...SINGLE_EMBEDDINGS,
  'teredo server': (a) => teredo(a, '8.8.4.4'),
  'teredo client': (a) => teredo('8.8.4.4', a),
};

const allowed: PeerDecision = { allowed: true };
const denied = (reason: string): PeerDecision => ({ allowed: false, reason });

describe('createPeerPolicy: special-purpose addresses are refused by default', () => {
  const cases: { address: string; reason: string }[] = [
    { address: '0.0.0.0', reason: 'this network 0.0.0.0/8' },
    { address: '0.1.2.3', reason: 'this network 0.0.0.0/8' },
    { address: '10.0.0.1', reason: 'private-use 10.0.0.0/8' },
    { address: '100.64.0.1', reason: 'shared address space (cgnat) 100.64.0.0/10' },
    { address: '100.127.255.255', reason: 'shared address space (cgnat) 100.64.0.0/10' },
    { address: '127.0.0.1', reason: 'loopback 127.0.0.0/8' },
    { address: '127.255.255.254', reason: 'loopback 127.0.0.0/8' },
    { address: '169.254.169.254', reason: 'link-local 169.254.0.0/16' },
    { address: '172.16.0.1', reason: 'private-use 172.16.0.0/12' },
    { address: '172.31.255.255', reason: 'private-use 172.16.0.0/12' },
    { address: '192.0.0.10', reason: 'ietf protocol assignments 192.0.0.0/24' },
    { address: '192.0.2.1', reason: 'documentation (test-net-1) 192.0.2.0/24' },
    { address: '192.88.99.1', reason: '6to4 relay anycast (deprecated) 192.88.99.0/24' },
    { address: '192.168.1.1', reason: 'private-use 192.168.0.0/16' },
    { address: '198.18.0.1', reason: 'benchmarking 198.18.0.0/15' },
    { address: '198.19.255.255', reason: 'benchmarking 198.18.0.0/15' },
    { address: '198.51.100.7', reason: 'documentation (test-net-2) 198.51.100.0/24' },
    { address: '203.0.113.9', reason: 'documentation (test-net-3) 203.0.113.0/24' },
    { address: '224.0.0.251', reason: 'multicast 224.0.0.0/4' },
    { address: '239.255.255.250', reason: 'multicast 224.0.0.0/4' },
    { address: '240.0.0.1', reason: 'reserved 240.0.0.0/4' },
    { address: '255.255.255.255', reason: 'limited broadcast 255.255.255.255/32' },
    { address: '::', reason: 'unspecified address ::/128' },
    { address: '::1', reason: 'loopback ::1/128' },
    { address: '0:0:0:1::1', reason: 'reserved by ietf ::/8' },
    { address: '100::1', reason: 'discard-only 100::/64' },
    { address: '2001:2::1', reason: 'ietf protocol assignments 2001::/23' },
    { address: '2001:db8::1', reason: 'documentation 2001:db8::/32' },
    { address: '3fff::1', reason: 'documentation 3fff::/20' },
    { address: '4000::1', reason: 'reserved by ietf 4000::/3' },
    { address: '5f00::1', reason: 'segment routing (srv6) sids 5f00::/16' },
    { address: 'fc00::1', reason: 'unique local fc00::/7' },
    { address: 'fd12:3456::1', reason: 'unique local fc00::/7' },
    { address: 'fe80::1', reason: 'link-local fe80::/10' },
    { address: 'fec0::1', reason: 'site-local (deprecated) fec0::/10' },
    { address: 'ff02::1', reason: 'multicast ff00::/8' },
  ];
  const policy = createPeerPolicy();
  for (const c of cases) {
    it(`refuses ${c.address}: ${c.reason}`, () => {
      expect(policy.check(c.address)).toEqual(denied(c.reason));
    });
  }
});

describe('createPeerPolicy: public addresses are allowed', () => {
  const policy = createPeerPolicy();
  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.31.196.1',
    '192.52.193.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '2001:200::1',
    '2a00:1450:4001::200e',
    '2002:808:808::1',
    '64:ff9b::8.8.8.8',
    '::ffff:8.8.8.8',
  ])('allows %s', (address) => {
    expect(policy.check(address)).toEqual(allowed);
  });
});

describe('createPeerPolicy: IPv6 forms embedding a special IPv4 address are refused', () => {
  const policy = createPeerPolicy();
  const targets: { address: string; reason: string }[] = [
    { address: '127.0.0.1', reason: 'loopback 127.0.0.0/8' },
    { address: '10.0.0.1', reason: 'private-use 10.0.0.0/8' },
    { address: '169.254.169.254', reason: 'link-local 169.254.0.0/16' },
  ];
  for (const target of targets) {
    for (const [form, embed] of Object.entries(EMBEDDINGS)) {
      const address = embed(target.address);
      it(`refuses ${target.address} as ${form} ${address}`, () => {
        const decision = policy.check(address);
        expect(decision.allowed).toBe(false);
        expect(decision.allowed ? '' : decision.reason).toContain(target.reason);
      });
    }
  }

  it('says which embedding carried the address', () => {
    expect(policy.check('2002:7f00:1::')).toEqual(
      denied('loopback 127.0.0.0/8 (6to4 127.0.0.1 in 2002:7f00:1::)'),
    );
    expect(policy.check(teredo('8.8.4.4', '10.0.0.1'))).toEqual(
      denied(`private-use 10.0.0.0/8 (teredo client 10.0.0.1 in ${teredo('8.8.4.4', '10.0.0.1')})`),
    );
  });

  it('treats an IPv4-mapped address as the IPv4 address itself', () => {
    expect(policy.check('::FFFF:7F00:1')).toEqual(denied('loopback 127.0.0.0/8'));
  });
});

describe('createPeerPolicy: operator overrides', () => {
  const cases: {
    name: string;
    config: PeerPolicyConfig;
    address: string;
    expected: PeerDecision;
  }[] = [
    {
      name: 'allowedPeerIps opens a special range',
      config: { allowedPeerIps: ['10.0.0.0/8'] },
      address: '10.1.2.3',
      expected: allowed,
    },
    {
      name: 'allowedPeerIps opens the range through its embeddings too',
      config: { allowedPeerIps: ['10.0.0.0/8'] },
      address: '2002:a01:203::',
      expected: allowed,
    },
    {
      name: 'allowedPeerIps leaves other special ranges refused',
      config: { allowedPeerIps: ['10.0.0.0/8'] },
      address: '192.168.1.1',
      expected: denied('private-use 192.168.0.0/16'),
    },
    {
      name: 'allowed overrides denied (coturn semantics)',
      config: { allowedPeerIps: ['172.17.0.5'], deniedPeerIps: ['172.17.0.0-172.17.255.255'] },
      address: '172.17.0.5',
      expected: allowed,
    },
    {
      name: 'deniedPeerIps refuses a public range, naming it',
      config: { deniedPeerIps: ['8.8.8.0/24'] },
      address: '8.8.8.8',
      expected: denied('denied-peer-ip 8.8.8.0/24'),
    },
    {
      name: 'deniedPeerIps in coturn a-b form',
      config: { deniedPeerIps: ['1.1.1.0-1.1.1.9'] },
      address: '1.1.1.5',
      expected: denied('denied-peer-ip 1.1.1.0-1.1.1.9'),
    },
    {
      name: 'deniedPeerIps applies to embedded addresses',
      config: { deniedPeerIps: ['8.8.8.0/24'] },
      address: '64:ff9b::8.8.8.8',
      expected: denied('denied-peer-ip 8.8.8.0/24 (nat64 8.8.8.8 in 64:ff9b::808:808)'),
    },
    {
      name: 'deniedPeerIps applies to the outer IPv6 address',
      config: { deniedPeerIps: ['2002::/16'] },
      address: '2002:808:808::1',
      expected: denied('denied-peer-ip 2002::/16'),
    },
    {
      name: 'an allowed outer IPv6 range allows the whole address, embedded IPv4 included',
      config: { allowedPeerIps: ['2002:7f00:1::/48'] },
      address: '2002:7f00:1::',
      expected: allowed,
    },
    {
      name: 'a mapped deny range is an IPv4 range',
      config: { deniedPeerIps: ['::ffff:8.8.8.0/120'] },
      address: '8.8.8.8',
      expected: denied('denied-peer-ip ::ffff:8.8.8.0/120'),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(createPeerPolicy(c.config).check(c.address)).toEqual(c.expected);
    });
  }
});

describe('createPeerPolicy: loopback opt-in', () => {
  const policy = createPeerPolicy({ allowLoopbackPeers: true });
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    '::ffff:127.0.0.1',
    '2002:7f00:1::',
    '64:ff9b::127.0.0.1',
  ])('allows %s with allowLoopbackPeers', (address) => {
    expect(policy.check(address)).toEqual(allowed);
  });
  it.each(['10.0.0.1', '169.254.169.254', '0.0.0.0', '::'])('still refuses %s', (address) => {
    expect(policy.check(address).allowed).toBe(false);
  });
});

describe("createPeerPolicy: the server's own addresses", () => {
  it('refuses configured and added own addresses, in any spelling', () => {
    const policy = createPeerPolicy({ ownAddresses: ['8.8.8.8', '::ffff:1.1.1.1'] });
    policy.addOwnAddress('2606:4700:0:0::1');
    const own = { ...denied("server's own address"), ownAddress: true };
    expect(policy.check('8.8.8.8')).toEqual(own);
    expect(policy.check('::ffff:8.8.8.8')).toEqual(own);
    expect(policy.check('1.1.1.1')).toEqual(own);
    expect(policy.check('2606:4700::1')).toEqual(own);
    expect(policy.check('2002:808:808::')).toEqual(
      denied("server's own address (6to4 8.8.8.8 in 2002:808:808::)"),
    );
    expect(policy.check('8.8.4.4')).toEqual(allowed);
  });

  it('an explicit allow wins over an own address', () => {
    const policy = createPeerPolicy({ ownAddresses: ['8.8.8.8'], allowedPeerIps: ['8.8.8.8'] });
    expect(policy.check('8.8.8.8')).toEqual(allowed);
  });

  it('an allowed subnet does not open the own address inside it, in any spelling', () => {
    const policy = createPeerPolicy({
      ownAddresses: ['10.0.0.5'],
      allowedPeerIps: ['10.0.0.0/8', '::/0'],
    });
    const own = { ...denied("server's own address"), ownAddress: true };
    expect(policy.check('10.0.0.5')).toEqual(own);
    expect(policy.check('::ffff:10.0.0.5')).toEqual(own);
    expect(policy.check('10.0.0.6')).toEqual(allowed);
  });

  it('throws ERR_TURN_INVALID_OPTION for an own address that is not an ip', () => {
    expect(() => createPeerPolicy({ ownAddresses: ['relay.example'] })).toThrow(
      "ownAddresses: 'relay.example' is not an ip address",
    );
    expect(() => {
      createPeerPolicy().addOwnAddress('10.0.0.256');
    }).toThrow(expect.objectContaining({ code: 'ERR_TURN_INVALID_OPTION' }));
  });
});

describe('createPeerPolicy: invalid input', () => {
  const policy = createPeerPolicy({ allowedPeerIps: ['0.0.0.0/0', '::/0'] });
  it.each([
    '',
    'localhost',
    '1.2.3.4.5',
    '01.2.3.4',
    'fe80::1%eth0',
    '[::1]',
    ' 8.8.8.8',
    '1.2.3.4:3478',
  ])('refuses %j as not an ip address, even with everything allowed', (address) => {
    expect(policy.check(address)).toEqual(denied('not an ip address'));
  });

  it('throws naming the option and the bad range', () => {
    expect(() => createPeerPolicy({ deniedPeerIps: ['10.0.0.0/8', '10.0.0.0/40'] })).toThrow(
      "deniedPeerIps[1]: '10.0.0.0/40' has prefix length '40', expected 0..32",
    );
    expect(() => createPeerPolicy({ allowedPeerIps: ['nope'] })).toThrow(
      /^allowedPeerIps\[0\]: 'nope'/,
    );
  });
});

describe('createPeerPolicy: embeddings decide like the IPv4 address they carry (property)', () => {
  // Holds for any IPv4-only policy: allow/deny lists and own addresses of IPv4. It does not hold
  // for rules that match the outer IPv6 address itself (an IPv6 allow/deny range or own address),
  // nor for ::0.0.0.0 and ::0.0.0.1, which are :: and ::1 rather than IPv4-compatible forms.
  const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIp(b));
  const cidr4 = fc
    .tuple(ipv4, fc.integer({ min: 0, max: 32 }))
    .map(([address, prefix]) => `${address}/${prefix}`);
  const config = fc.record({
    allowLoopbackPeers: fc.boolean(),
    allowedPeerIps: fc.array(cidr4, { maxLength: 3 }),
    deniedPeerIps: fc.array(cidr4, { maxLength: 3 }),
    ownAddresses: fc.array(ipv4, { maxLength: 2 }),
  });
  // Bias towards the interesting ranges.
  const address = fc.oneof(
    ipv4,
    fc.constantFrom('127.0.0.1', '10.0.0.1', '169.254.169.254', '0.0.0.2', '224.0.0.1', '8.8.8.8'),
  );

  it('mapped, compatible, 6to4, NAT64 and Teredo forms get the decision of the IPv4 address', () => {
    fc.assert(
      fc.property(config, address, (cfg, a) => {
        fc.pre(a !== '0.0.0.0' && a !== '0.0.0.1');
        const policy = createPeerPolicy(cfg);
        const expected = policy.check(a);
        const forms = [...Object.values(SINGLE_EMBEDDINGS).map((embed) => embed(a)), teredo(a, a)];
        for (const form of forms) {
          const got = policy.check(form);
          expect(got.allowed).toBe(expected.allowed);
          if (!got.allowed && !expected.allowed) {
            expect(got.reason.startsWith(expected.reason)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a Teredo address is allowed only if both its server and its client are', () => {
    fc.assert(
      fc.property(config, address, address, (cfg, server, client) => {
        const policy = createPeerPolicy(cfg);
        const both = policy.check(server).allowed && policy.check(client).allowed;
        expect(policy.check(teredo(server, client)).allowed).toBe(both);
      }),
      { numRuns: 300 },
    );
  });
});
