import { describe, expect, it } from 'vitest';
import type { TurnServerOptions } from './options.js';
import { resolveCoreOptions, resolveServerOptions } from './options-resolve.js';

const auth = { users: { alice: 'secret' } };

describe('resolveCoreOptions: defaults', () => {
  it('fills every default', () => {
    const resolved = resolveCoreOptions({ auth });
    expect(resolved).toMatchObject({
      realm: 'cloudproxy',
      software: 'cloudproxy',
      nonceLifetimeS: 600,
      defaultLifetimeS: 600,
      maxLifetimeS: 3600,
      permissionLifetimeS: 300,
      channelLifetimeS: 600,
      userQuota: 0,
      totalQuota: 0,
      maxBps: 0,
      allocateCacheMs: 40_000,
      authRejectRatePerS: 100,
      peerPolicy: { allowLoopbackPeers: false, allowedPeerIps: [], deniedPeerIps: [] },
      auth: { staticAuthSecrets: [], noAuth: false },
    });
    expect(resolved.auth.users).toEqual(new Map([['alice', 'secret']]));
  });

  it('draws a random 32-byte nonce secret per call when none is given', () => {
    const a = resolveCoreOptions({ auth }).nonceSecret;
    const b = resolveCoreOptions({ auth }).nonceSecret;
    expect(a).toHaveLength(32);
    expect(a).not.toEqual(b);
  });

  it('keeps given values and copies the nonce secret', () => {
    const nonceSecret = new Uint8Array(16).fill(7);
    const resolved = resolveCoreOptions({
      auth: { staticAuthSecrets: ['north', 'south'] },
      realm: 'example.org',
      software: false,
      nonceSecret,
      nonceLifetimeS: 60,
      defaultLifetimeS: 300,
      maxLifetimeS: 300,
      userQuota: 5,
      totalQuota: 100,
      maxBps: 125_000,
      allocateCacheMs: 0,
      peerPolicy: { allowLoopbackPeers: true, deniedPeerIps: ['8.8.8.0/24'] },
    });
    expect(resolved).toMatchObject({
      realm: 'example.org',
      software: false,
      nonceLifetimeS: 60,
      defaultLifetimeS: 300,
      maxLifetimeS: 300,
      userQuota: 5,
      totalQuota: 100,
      maxBps: 125_000,
      allocateCacheMs: 0,
      auth: { staticAuthSecrets: ['north', 'south'] },
      peerPolicy: { allowLoopbackPeers: true, allowedPeerIps: [], deniedPeerIps: ['8.8.8.0/24'] },
    });
    expect(resolved.nonceSecret).toEqual(nonceSecret);
    expect(resolved.nonceSecret).not.toBe(nonceSecret);
  });

  it('accepts noAuth alone', () => {
    expect(resolveCoreOptions({ auth: { noAuth: true } }).auth.noAuth).toBe(true);
  });

  it('keeps user names that collide with Object.prototype keys as plain data', () => {
    const users = resolveCoreOptions({ auth: { users: { constructor: 'pw' } } }).auth.users;
    expect(users.get('constructor')).toBe('pw');
    expect(users.get('toString')).toBeUndefined();
  });
});

describe('resolveCoreOptions: validation', () => {
  const cases: { name: string; opts: Parameters<typeof resolveCoreOptions>[0]; message: string }[] =
    [
      {
        name: 'no auth configured',
        opts: { auth: {} },
        message:
          'auth: no users or static-auth-secret configured; refusing to start an open relay (use --no-auth only for tests)',
      },
      {
        name: 'empty users and secrets',
        opts: { auth: { users: {}, staticAuthSecrets: [] } },
        message: 'auth: no users or static-auth-secret configured',
      },
      {
        name: 'noAuth with credentials',
        opts: { auth: { users: { a: 'b' }, noAuth: true } },
        message: 'auth.noAuth: cannot be combined with users or static auth secrets',
      },
      {
        name: 'empty user name',
        opts: { auth: { users: { '': 'pw' } } },
        message: 'auth.users: user name is empty',
      },
      {
        name: "user name with ':'",
        opts: { auth: { users: { 'a:b': 'pw' } } },
        message: "auth.users['a:b']: user name contains ':'",
      },
      {
        name: 'user name over 512 bytes',
        opts: { auth: { users: { ['é'.repeat(257)]: 'pw' } } },
        message: 'user name is 514 bytes, at most 512',
      },
      {
        name: 'empty password',
        opts: { auth: { users: { bob: '' } } },
        message: "auth.users['bob']: password is empty",
      },
      {
        name: 'empty static auth secret',
        opts: { auth: { staticAuthSecrets: ['ok', ''] } },
        message: 'auth.staticAuthSecrets[1]: must be a non-empty string',
      },
      { name: 'empty realm', opts: { auth, realm: '' }, message: 'realm: must not be empty' },
      {
        name: 'realm over 763 bytes',
        opts: { auth, realm: '€'.repeat(255) },
        message: 'realm: is 765 bytes, at most 763 (RFC 8489 §14.9)',
      },
      {
        name: 'realm of 128 characters',
        opts: { auth, realm: 'r'.repeat(128) },
        message: 'realm: is 128 characters, at most 127',
      },
      {
        name: 'empty software',
        opts: { auth, software: '' },
        message: 'software: must not be empty; use false to send no SOFTWARE attribute',
      },
      {
        name: 'software too long',
        opts: { auth, software: 's'.repeat(128) },
        message: 'software: is 128 characters',
      },
      {
        name: 'zero nonce lifetime',
        opts: { auth, nonceLifetimeS: 0 },
        message: 'nonceLifetimeS: must be a positive integer, got 0',
      },
      {
        name: 'negative max lifetime',
        opts: { auth, maxLifetimeS: -1 },
        message: 'maxLifetimeS: must be a positive integer, got -1',
      },
      {
        name: 'fractional default lifetime',
        opts: { auth, defaultLifetimeS: 1.5 },
        message: 'defaultLifetimeS: must be a positive integer, got 1.5',
      },
      {
        name: 'NaN permission lifetime',
        opts: { auth, permissionLifetimeS: NaN },
        message: 'permissionLifetimeS: must be a positive integer, got NaN',
      },
      {
        name: 'zero channel lifetime',
        opts: { auth, channelLifetimeS: 0 },
        message: 'channelLifetimeS: must be a positive integer',
      },
      {
        name: 'default lifetime above max',
        opts: { auth, defaultLifetimeS: 7200 },
        message: 'defaultLifetimeS: must be ≤ maxLifetimeS, got 7200 > 3600',
      },
      {
        name: 'negative user quota',
        opts: { auth, userQuota: -1 },
        message: 'userQuota: must be a non-negative integer, got -1',
      },
      {
        name: 'fractional total quota',
        opts: { auth, totalQuota: 0.5 },
        message: 'totalQuota: must be a non-negative integer',
      },
      {
        name: 'infinite max bps',
        opts: { auth, maxBps: Infinity },
        message: 'maxBps: must be a non-negative integer, got Infinity',
      },
      {
        name: 'negative allocate cache',
        opts: { auth, allocateCacheMs: -5 },
        message: 'allocateCacheMs: must be a non-negative integer',
      },
      {
        name: 'zero auth reject rate',
        opts: { auth, authRejectRatePerS: 0 },
        message: 'authRejectRatePerS: must be a positive integer',
      },
      {
        name: 'short nonce secret',
        opts: { auth, nonceSecret: new Uint8Array(8) },
        message: 'nonceSecret: must be at least 16 bytes, got 8',
      },
      {
        name: 'bad denied range',
        opts: { auth, peerPolicy: { deniedPeerIps: ['10.0.0.0/8', 'bogus'] } },
        message: "peerPolicy.deniedPeerIps[1]: 'bogus' is not an ip address",
      },
      {
        name: 'bad allowed range',
        opts: { auth, peerPolicy: { allowedPeerIps: ['10.0.0.9-10.0.0.1'] } },
        message:
          "peerPolicy.allowedPeerIps[0]: '10.0.0.9-10.0.0.1' has its first address after its last",
      },
    ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      expect(() => resolveCoreOptions(c.opts)).toThrow(c.message);
      expect(() => resolveCoreOptions(c.opts)).toThrow(
        expect.objectContaining({ code: 'ERR_TURN_INVALID_OPTION', name: 'InvalidOptionError' }),
      );
    });
  }
});

describe('resolveServerOptions: defaults', () => {
  it('fills every server default and the core ones', () => {
    expect(resolveServerOptions({ auth })).toMatchObject({
      realm: 'cloudproxy',
      listeningIps: ['0.0.0.0', '::'],
      listeningPort: 3478,
      tlsListeningPort: 5349,
      minPort: 49152,
      maxPort: 65535,
      maxTcpConnections: 10_000,
      tcpIdleTimeoutS: 60,
      drainTimeoutS: 30,
      noUdp: false,
      noTcp: false,
      noTls: false,
      certFile: undefined,
      keyFile: undefined,
      relayAddresses: [
        { relayIp: '0.0.0.0', externalIp: undefined },
        { relayIp: '::', externalIp: undefined },
      ],
    });
  });

  const relayCases: { name: string; opts: Partial<TurnServerOptions>; relays: unknown }[] = [
    {
      name: 'relays on the listening addresses when none are given',
      opts: { listeningIps: ['192.0.2.10', '2001:DB8::0:1'] },
      relays: [
        { relayIp: '192.0.2.10', externalIp: undefined },
        { relayIp: '2001:db8::1', externalIp: undefined },
      ],
    },
    {
      name: 'keeps explicit relay addresses, canonicalised',
      opts: {
        relayAddresses: [
          { relayIp: '10.0.0.5', externalIp: '203.0.113.5' },
          { relayIp: 'FD00::5' },
        ],
      },
      relays: [
        { relayIp: '10.0.0.5', externalIp: '203.0.113.5' },
        { relayIp: 'fd00::5', externalIp: undefined },
      ],
    },
  ];
  for (const c of relayCases) {
    it(c.name, () => {
      expect(resolveServerOptions({ auth, ...c.opts }).relayAddresses).toEqual(c.relays);
    });
  }

  it('accepts port 0 listeners (tests) and a single relay port', () => {
    const resolved = resolveServerOptions({
      auth,
      listeningPort: 0,
      tlsListeningPort: 0,
      minPort: 50000,
      maxPort: 50000,
    });
    expect(resolved).toMatchObject({
      listeningPort: 0,
      tlsListeningPort: 0,
      minPort: 50000,
      maxPort: 50000,
    });
  });

  it('accepts TLS alone when UDP and TCP are off', () => {
    const resolved = resolveServerOptions({
      auth,
      noUdp: true,
      noTcp: true,
      certFile: 'c.pem',
      keyFile: 'k.pem',
    });
    expect(resolved).toMatchObject({
      noUdp: true,
      noTcp: true,
      certFile: 'c.pem',
      keyFile: 'k.pem',
    });
  });
});

describe('resolveServerOptions: validation', () => {
  const cases: { name: string; opts: Partial<TurnServerOptions>; message: string }[] = [
    {
      name: 'minPort > maxPort',
      opts: { minPort: 50000, maxPort: 40000 },
      message: 'minPort: must be ≤ maxPort, got 50000 > 40000',
    },
    {
      name: 'minPort 0',
      opts: { minPort: 0 },
      message: 'minPort: must be an integer 1-65535, got 0',
    },
    {
      name: 'maxPort out of range',
      opts: { maxPort: 70000 },
      message: 'maxPort: must be an integer 1-65535, got 70000',
    },
    {
      name: 'listeningPort out of range',
      opts: { listeningPort: 65536 },
      message: 'listeningPort: must be an integer 0-65535, got 65536',
    },
    {
      name: 'negative tlsListeningPort',
      opts: { tlsListeningPort: -1 },
      message: 'tlsListeningPort: must be an integer 0-65535, got -1',
    },
    {
      name: 'fractional listeningPort',
      opts: { listeningPort: 3478.5 },
      message: 'listeningPort: must be an integer',
    },
    {
      name: 'invalid listening ip',
      opts: { listeningIps: ['0.0.0.0', 'eth0'] },
      message: "listeningIps[1]: 'eth0' is not an ip address",
    },
    {
      name: 'no listening ip',
      opts: { listeningIps: [] },
      message: 'listeningIps: must not be empty',
    },
    {
      name: 'no relay address',
      opts: { relayAddresses: [] },
      message: 'relayAddresses: must not be empty',
    },
    {
      name: 'invalid relay ip',
      opts: { relayAddresses: [{ relayIp: '10.0.0.300' }] },
      message: "relayAddresses[0].relayIp: '10.0.0.300' is not an ip address",
    },
    {
      name: 'invalid external ip',
      opts: { relayAddresses: [{ relayIp: '10.0.0.3', externalIp: 'public' }] },
      message: "relayAddresses[0].externalIp: 'public' is not an ip address",
    },
    {
      name: 'external ip of the other family',
      opts: { relayAddresses: [{ relayIp: '10.0.0.3', externalIp: '2001:db8::3' }] },
      message:
        'relayAddresses[0].externalIp: 2001:db8::3 is not of the same address family as relayIp 10.0.0.3',
    },
    {
      name: 'cert without key',
      opts: { certFile: 'c.pem' },
      message: 'certFile: given without keyFile; TLS needs both',
    },
    {
      name: 'key without cert',
      opts: { keyFile: 'k.pem' },
      message: 'keyFile: given without certFile; TLS needs both',
    },
    {
      name: 'empty cert path',
      opts: { certFile: '', keyFile: 'k.pem' },
      message: 'certFile: must not be empty',
    },
    {
      name: 'empty key path',
      opts: { certFile: 'c.pem', keyFile: '' },
      message: 'keyFile: must not be empty',
    },
    {
      name: 'no listener left',
      opts: { noUdp: true, noTcp: true },
      message:
        'noUdp: with noTcp and no TLS (noTls or no certFile/keyFile) leaves no listener enabled',
    },
    {
      name: 'no listener left with TLS turned off',
      opts: { noUdp: true, noTcp: true, noTls: true, certFile: 'c.pem', keyFile: 'k.pem' },
      message: 'leaves no listener enabled',
    },
    {
      name: 'TLS and TCP on the same port',
      opts: { listeningPort: 443, tlsListeningPort: 443, certFile: 'c.pem', keyFile: 'k.pem' },
      message: 'tlsListeningPort: must differ from listeningPort, both are 443',
    },
    {
      name: 'zero max TCP connections',
      opts: { maxTcpConnections: 0 },
      message: 'maxTcpConnections: must be a positive integer',
    },
    {
      name: 'zero TCP idle timeout',
      opts: { tcpIdleTimeoutS: 0 },
      message: 'tcpIdleTimeoutS: must be a positive integer',
    },
    {
      name: 'negative drain timeout',
      opts: { drainTimeoutS: -1 },
      message: 'drainTimeoutS: must be a non-negative integer',
    },
    { name: 'core options too', opts: { realm: '' }, message: 'realm: must not be empty' },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      expect(() => resolveServerOptions({ auth, ...c.opts })).toThrow(c.message);
      expect(() => resolveServerOptions({ auth, ...c.opts })).toThrow(
        expect.objectContaining({ code: 'ERR_TURN_INVALID_OPTION' }),
      );
    });
  }

  it('allows TLS and TCP on the same port when TCP is off or TLS has no certificate', () => {
    expect(() =>
      resolveServerOptions({
        auth,
        listeningPort: 443,
        tlsListeningPort: 443,
        noTcp: true,
        certFile: 'c',
        keyFile: 'k',
      }),
    ).not.toThrow();
    expect(() =>
      resolveServerOptions({ auth, listeningPort: 443, tlsListeningPort: 443 }),
    ).not.toThrow();
  });
});
