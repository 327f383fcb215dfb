import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopback, parseListen, resolveApiConfig } from './api-options.js';

describe('cloudproxy api options', () => {
  it('defaults to SQLite under ./data, loopback 8443, region default and the standard TURN ports', () => {
    const config = resolveApiConfig({ insecureHttp: true }, {});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8443, tls: undefined });
    expect(config.control.store).toEqual({
      kind: 'sqlite',
      file: path.resolve('data', 'cloudproxy.db'),
    });
    expect(config.control.adminToken).toBeUndefined();
    expect(config.control.node).toMatchObject({
      region: 'default',
      publicHost: '127.0.0.1',
      relayAddresses: ['127.0.0.1'],
      udpPort: 3478,
      tcpPort: 3478,
      tlsPort: 5349,
      relayPortRange: { min: 49152, max: 65535 },
    });
  });

  it('takes every option', () => {
    const config = resolveApiConfig(
      {
        listen: '[::1]:9443',
        cert: 'c.pem',
        pkey: 'k.pem',
        databaseUrl: 'postgresql://u@db/cp',
        adminToken: 'a-very-long-admin-token',
        region: 'eu-west',
        publicHost: 'turn.example.org',
        relayIp: ['203.0.113.1', '2001:db8::1'],
        turnPort: '3479',
        turnTlsPort: '443',
        relayPortRange: '50000-50100',
        domain: ['turn.example.org'],
        rateLimit: '60',
      },
      { CLOUDPROXY_ADMIN_TOKEN: 'ignored-because-the-flag-wins' },
    );
    expect(config).toMatchObject({
      host: '::1',
      port: 9443,
      tls: { certFile: 'c.pem', keyFile: 'k.pem' },
    });
    expect(config.control).toMatchObject({
      store: { kind: 'postgres', url: 'postgresql://u@db/cp' },
      adminToken: 'a-very-long-admin-token',
      rateLimit: { perMinute: 60 },
      node: {
        region: 'eu-west',
        publicHost: 'turn.example.org',
        relayAddresses: ['203.0.113.1', '2001:db8::1'],
        udpPort: 3479,
        tlsPort: 443,
        relayPortRange: { min: 50000, max: 50100 },
        domains: ['turn.example.org'],
      },
    });
  });

  it('reads CLOUDPROXY_ADMIN_TOKEN and ignores it when empty', () => {
    expect(
      resolveApiConfig({ insecureHttp: true }, { CLOUDPROXY_ADMIN_TOKEN: 'from-the-environment-x' })
        .control.adminToken,
    ).toBe('from-the-environment-x');
    expect(
      resolveApiConfig({ insecureHttp: true }, { CLOUDPROXY_ADMIN_TOKEN: '' }).control.adminToken,
    ).toBeUndefined();
  });

  const refusals: [string, Parameters<typeof resolveApiConfig>[0], string][] = [
    ['no TLS and no --insecure-http', {}, '--cert'],
    [
      '--insecure-http off loopback',
      { insecureHttp: true, listen: '0.0.0.0:8443' },
      '--insecure-http',
    ],
    ['--cert without --pkey', { cert: 'c.pem' }, '--cert and --pkey'],
    ['a bad --listen', { insecureHttp: true, listen: '8443' }, '--listen'],
    ['a port over 65535', { insecureHttp: true, listen: '127.0.0.1:70000' }, '--listen'],
    ['a short admin token', { insecureHttp: true, adminToken: 'short' }, 'admin token'],
    ['a non-IP --relay-ip', { insecureHttp: true, relayIp: ['relay.example'] }, '--relay-ip'],
    ['a bad --turn-port', { insecureHttp: true, turnPort: 'x' }, '--turn-port'],
    [
      'a bad --relay-port-range',
      { insecureHttp: true, relayPortRange: '9-1' },
      '--relay-port-range',
    ],
    [
      'a non-postgres --database-url',
      { insecureHttp: true, databaseUrl: 'mysql://x' },
      '--database-url',
    ],
    ['a bad --rate-limit', { insecureHttp: true, rateLimit: '0' }, '--rate-limit'],
  ];
  it.each(refusals)('refuses %s, naming the option', (_name, flags, text) => {
    let caught: unknown;
    try {
      resolveApiConfig(flags, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'ERR_CLI_API_CONFIG' });
    expect((caught as Error).message).toContain(text);
  });

  it('parses listen addresses and knows loopback', () => {
    expect(parseListen('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(parseListen('[::]:443')).toEqual({ host: '::', port: 443 });
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com'].some(isLoopback)).toBe(false);
  });
});
