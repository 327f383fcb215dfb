import { describe, expect, it } from 'vitest';
import { CloudProxyError } from './errors.js';
import { formatIceUrl, isIpv6, parseIceUrl } from './ice-url.js';

function errorOf(fn: () => unknown): CloudProxyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CloudProxyError) return err;
    throw err;
  }
  throw new Error('expected a CloudProxyError');
}

describe('parseIceUrl', () => {
  const valid: [string, Partial<ReturnType<typeof parseIceUrl>>][] = [
    ['stun:stun.example.com', { scheme: 'stun', port: 3478, transport: 'udp', hostKind: 'name' }],
    ['stun:203.0.113.7:19302', { host: '203.0.113.7', port: 19302, hostKind: 'ipv4' }],
    ['turn:203.0.113.7', { scheme: 'turn', port: 3478, transport: 'udp', transportGiven: false }],
    ['turn:relay.example.com:3478?transport=udp', { transport: 'udp', transportGiven: true }],
    ['turn:relay.example.com:3478?transport=tcp', { transport: 'tcp' }],
    ['turn:relay.example.com?transport=tls', { transport: 'tls', port: 5349 }],
    ['turns:relay.example.com', { scheme: 'turns', port: 5349, transport: 'tls' }],
    ['turns:relay.example.com:443?transport=tcp', { port: 443, transport: 'tls' }],
    ['TURN:Relay.Example.com:3478', { scheme: 'turn', host: 'Relay.Example.com' }],
    ['turn:[2001:db8::1]:3478', { host: '2001:db8::1', hostKind: 'ipv6', port: 3478 }],
    ['turn:[::ffff:192.0.2.1]', { hostKind: 'ipv6' }],
    ['turn:localhost:3478', { host: 'localhost', hostKind: 'name' }],
  ];
  it.each(valid)('accepts %s', (url, expected) => {
    expect(parseIceUrl(url, 'f')).toMatchObject(expected);
  });

  const invalid: [string, string, RegExp][] = [
    [
      'http://relay.example.com',
      'INVALID_ICE_SERVER_URL',
      /must start with turn:, turns: or stun:/,
    ],
    ['stuns:relay.example.com', 'INVALID_ICE_SERVER_URL', /must start with/],
    ['relay.example.com:3478', 'INVALID_ICE_SERVER_URL', /must start with/],
    ['turn://relay.example.com', 'INVALID_ICE_SERVER_URL', /without '\/\/'/],
    ['turn:', 'INVALID_ICE_SERVER_URL', /host is empty/],
    ['turn:relay.example.com:0', 'INVALID_ICE_SERVER_URL', /port '0' is not in 1..65535/],
    ['turn:relay.example.com:65536', 'INVALID_ICE_SERVER_URL', /port '65536'/],
    ['turn:relay.example.com:abc', 'INVALID_ICE_SERVER_URL', /port 'abc'/],
    ['turn:relay.example.com:', 'INVALID_ICE_SERVER_URL', /port ''/],
    ['turn:user@relay.example.com', 'INVALID_ICE_SERVER_URL', /no path, user or fragment/],
    ['turn:relay.example.com/path', 'INVALID_ICE_SERVER_URL', /no path/],
    ['turn:2001:db8::1', 'INVALID_ICE_SERVER_URL', /must be in brackets/],
    ['turn:[2001:db8::zz]', 'INVALID_ICE_SERVER_URL', /bracketed IPv6/],
    ['turn:[2001:db8::1', 'INVALID_ICE_SERVER_URL', /bracketed IPv6/],
    ['turn:300.1.1.1', 'INVALID_ICE_SERVER_URL', /not a valid IPv4/],
    ['turn:bad_host!.com', 'INVALID_ICE_SERVER_URL', /not a host name/],
    ['turn:-bad.example.com', 'INVALID_ICE_SERVER_URL', /not a host name/],
    ['stun:stun.example.com?transport=udp', 'INVALID_ICE_SERVER_URL', /takes no query/],
    ['turn:relay.example.com?foo=bar', 'INVALID_ICE_SERVER_URL', /only \?transport= is defined/],
    [
      'turn:relay.example.com?transport=sctp',
      'INVALID_TRANSPORT',
      /'sctp' is not one of udp, tcp, tls/,
    ],
    ['turn:relay.example.com?transport=', 'INVALID_TRANSPORT', /'' is not one of/],
    ['turns:relay.example.com?transport=udp', 'INVALID_TRANSPORT', /DTLS/],
  ];
  it.each(invalid)('refuses %s with %s', (url, code, message) => {
    const err = errorOf(() => parseIceUrl(url, 'iceServers[0].urls[1]'));
    expect(err.code).toBe(code);
    expect(err.field).toBe('iceServers[0].urls[1]');
    expect(err.message).toMatch(/^iceServers\[0\]\.urls\[1\]: /);
    expect(err.message).toMatch(message);
  });
});

describe('formatIceUrl', () => {
  it.each([
    ['turn:h.example.com', 'turn:h.example.com:3478'],
    ['turn:h.example.com?transport=udp', 'turn:h.example.com:3478?transport=udp'],
    ['turn:h.example.com:80?transport=tcp', 'turn:h.example.com:80?transport=tcp'],
    ['turn:h.example.com:443?transport=tls', 'turns:h.example.com:443?transport=tcp'],
    ['turns:h.example.com', 'turns:h.example.com:5349?transport=tcp'],
    ['stun:[::1]', 'stun:[::1]:3478'],
  ])('writes %s as %s', (input, output) => {
    expect(formatIceUrl(parseIceUrl(input, 'f'))).toBe(output);
  });
});

describe('isIpv6', () => {
  it.each(['::', '::1', '2001:db8::1', '1:2:3:4:5:6:7:8', '::ffff:192.0.2.1', 'fe80::1:2'])(
    'accepts %s',
    (text) => expect(isIpv6(text)).toBe(true),
  );
  it.each(['1:2:3:4:5:6:7', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '::ffff:300.0.0.1', 'abc'])(
    'refuses %s',
    (text) => expect(isIpv6(text)).toBe(false),
  );
});
