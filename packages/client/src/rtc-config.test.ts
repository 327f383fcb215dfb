import { describe, expect, it } from 'vitest';
import { CloudProxyError } from './errors.js';
import { validateIceServers } from './ice-servers.js';
import { buildRtcConfiguration } from './rtc-config.js';

// The control plane's `auto` answer: TURN over UDP and TLS, plus a STUN server.
const servers = validateIceServers(
  [
    { urls: ['stun:relay.example.com:3478'] },
    {
      urls: [
        'turn:relay.example.com:3478?transport=udp',
        'turn:relay.example.com:3478?transport=tcp',
        'turns:relay.example.com:443?transport=tcp',
      ],
      username: 'u',
      credential: 'p',
    },
  ],
  'iceServers',
);
const creds = { username: 'u', credential: 'p' };

describe('buildRtcConfiguration', () => {
  it('without a mode: relay only, exactly the given servers', () => {
    expect(buildRtcConfiguration(servers, undefined)).toEqual({
      iceTransportPolicy: 'relay',
      iceServers: [
        { urls: ['stun:relay.example.com:3478'] },
        {
          urls: [
            'turn:relay.example.com:3478?transport=udp',
            'turn:relay.example.com:3478?transport=tcp',
            'turns:relay.example.com:443?transport=tcp',
          ],
          ...creds,
        },
      ],
    });
  });

  it('force-udp: only turn: over UDP, relay only', () => {
    expect(buildRtcConfiguration(servers, 'force-udp')).toEqual({
      iceTransportPolicy: 'relay',
      iceServers: [{ urls: ['turn:relay.example.com:3478?transport=udp'], ...creds }],
    });
  });

  it('force-tcp: only TLS URLs, relay only', () => {
    expect(buildRtcConfiguration(servers, 'force-tcp')).toEqual({
      iceTransportPolicy: 'relay',
      iceServers: [{ urls: ['turns:relay.example.com:443?transport=tcp'], ...creds }],
    });
  });

  it('force-tcp without TLS URLs: TURN over TCP', () => {
    const tcp = validateIceServers(
      [
        {
          urls: ['turn:r.example.com?transport=udp', 'turn:r.example.com?transport=tcp'],
          ...creds,
        },
      ],
      'x',
    );
    expect(buildRtcConfiguration(tcp, 'force-tcp').iceServers).toEqual([
      { urls: ['turn:r.example.com:3478?transport=tcp'], ...creds },
    ]);
  });

  it('auto: direct first (STUN only, no relay), then relay-only TLS', () => {
    const direct = buildRtcConfiguration(servers, 'auto', 'direct');
    expect(direct).toEqual({
      iceTransportPolicy: 'all',
      iceServers: [{ urls: ['stun:relay.example.com:3478'] }],
    });
    // A control plane answer without stun: URLs: the UDP TURN server answers Binding requests.
    const turnOnly = validateIceServers(
      [{ urls: ['turn:r.example.com:3479?transport=udp', 'turns:r.example.com:443'], ...creds }],
      'iceServers',
    );
    expect(buildRtcConfiguration(turnOnly, 'auto', 'direct').iceServers).toEqual([
      { urls: ['stun:r.example.com:3479'] },
    ]);
    const tlsOnly = validateIceServers([{ urls: ['turns:r.example.com:443'], ...creds }], 'x');
    expect(buildRtcConfiguration(tlsOnly, 'auto', 'direct').iceServers).toEqual([]);
    expect(buildRtcConfiguration(servers, 'auto', 'relay')).toEqual(
      buildRtcConfiguration(servers, 'force-tcp'),
    );
  });

  it('merges extra fields but keeps its own iceServers and policy', () => {
    const config = buildRtcConfiguration(servers, 'force-udp', 'direct', {
      bundlePolicy: 'max-bundle',
      iceServers: [{ urls: 'stun:other.example.com' }],
      iceTransportPolicy: 'all',
    });
    expect(config.bundlePolicy).toBe('max-bundle');
    expect(config.iceTransportPolicy).toBe('relay');
    expect(config.iceServers).toHaveLength(1);
  });

  it('a fixed STUN-only list is not relay-only', () => {
    const stun = validateIceServers([{ urls: 'stun:s.example.com' }], 'x');
    expect(buildRtcConfiguration(stun, undefined).iceTransportPolicy).toBe('all');
  });

  it.each(['force-udp', 'force-tcp'] as const)(
    '%s with only STUN servers throws NO_SERVER_FOR_MODE',
    (mode) => {
      const stun = validateIceServers([{ urls: 'stun:s.example.com' }], 'x');
      expect(() => buildRtcConfiguration(stun, mode)).toThrow(CloudProxyError);
      try {
        buildRtcConfiguration(stun, mode);
      } catch (err) {
        expect((err as CloudProxyError).code).toBe('NO_SERVER_FOR_MODE');
      }
    },
  );
});
