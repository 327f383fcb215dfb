import { describe, expect, it } from 'vitest';
import { createClient } from './client.js';
import { CloudProxyError } from './errors.js';
import { MEDIA_PROXY_PREFIX } from './mobile-profile.js';

const T = 'networkConfiguration.turn.iceServers';
const good = { urls: 'turn:203.0.113.7', username: 'u', credential: 'p', realm: 'example.com' };

function mobileError(iceServers: unknown): CloudProxyError {
  try {
    createClient({ profile: 'mobile', networkConfiguration: { turn: { iceServers } } } as never);
  } catch (err) {
    if (err instanceof CloudProxyError) return err;
    throw err;
  }
  throw new Error('expected createClient to throw');
}

describe('mobile validation profile', () => {
  it('accepts one turn: server at an IPv4 address over UDP with a realm (port 3478 by default)', () => {
    const client = createClient({
      profile: 'mobile',
      networkConfiguration: { turn: { iceServers: [good] } },
    });
    expect(client.mobileMediaProxy).toEqual({
      address: '203.0.113.7',
      udpPort: 3478,
      username: 'u',
      credential: 'p',
      realm: 'example.com',
    });
  });

  it('keeps an explicit UDP port', () => {
    const client = createClient({
      profile: 'mobile',
      networkConfiguration: {
        turn: { iceServers: [{ ...good, urls: ['turn:203.0.113.7:3479?transport=udp'] }] },
      },
    });
    expect(client.mobileMediaProxy?.udpPort).toBe(3479);
  });

  it('does not apply without the profile', () => {
    const client = createClient({ networkConfiguration: { turn: { iceServers: [good, good] } } });
    expect(client.mobileMediaProxy).toBeUndefined();
  });

  const cases: [string, unknown, string, RegExp][] = [
    ['two servers', [good, good], T, /must hold exactly one server, got 2/],
    [
      'two URLs',
      [{ ...good, urls: ['turn:203.0.113.7', 'turn:203.0.113.8'] }],
      `${T}[0].urls`,
      /exactly one URL, got 2/,
    ],
    [
      'a host name',
      [{ ...good, urls: 'turn:relay.example.com' }],
      `${T}[0].urls`,
      /host 'relay.example.com' must be an IPv4 address/,
    ],
    [
      'an IPv6 address',
      [{ ...good, urls: 'turn:[2001:db8::1]' }],
      `${T}[0].urls`,
      /must be an IPv4 address/,
    ],
    [
      'TCP',
      [{ ...good, urls: 'turn:203.0.113.7?transport=tcp' }],
      `${T}[0].urls`,
      /transport must be udp, got tcp/,
    ],
    ['turns:', [{ ...good, urls: 'turns:203.0.113.7' }], `${T}[0].urls`, /must be a turn: URL/],
    ['stun:', [{ urls: 'stun:203.0.113.7', realm: 'r' }], `${T}[0].urls`, /must be a turn: URL/],
    ['no realm', [{ ...good, realm: undefined }], `${T}[0].realm`, /realm is required/],
    ['an empty realm', [{ ...good, realm: '' }], `${T}[0].realm`, /realm is required/],
    [
      'a web-rule error',
      [{ ...good, credential: undefined }],
      `${T}[0].credential`,
      /required for turn: URLs/,
    ],
    ['a bad URL', [{ ...good, urls: 'turn:203.0.113.7:0' }], `${T}[0].urls`, /port '0'/],
  ];
  it.each(cases)(
    'refuses %s with "Failed to set media proxy"',
    (_name, iceServers, field, reason) => {
      const err = mobileError(iceServers);
      expect(err.code).toBe('MEDIA_PROXY_INVALID');
      expect(err.message.startsWith(MEDIA_PROXY_PREFIX)).toBe(true);
      expect(err.message.startsWith('Failed to set media proxy: ')).toBe(true);
      expect(err.message).toMatch(reason);
      expect(err.field).toBe(field);
    },
  );
});
