/**
 * The ephemeral credential contract (TURN REST scheme) and client tokens, without a server.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signClientToken, verifyClientToken } from '../src/credentials/client-token.js';
import { turnUris } from '../src/credentials/ice-servers.js';
import {
  appIdOfUsername,
  appUsername,
  parseAppUsername,
  restPassword,
} from '../src/credentials/rest.js';

const APP_ID = '0123456789abcdef0123456789abcdef';

describe('TURN REST credentials', () => {
  it('computes the reference password vector', () => {
    expect(restPassword('north', '12334939:mbzrxpgjys')).toBe('Iq7YXkRon8YXJfdN1Ke9EZOw1UE=');
  });

  it('builds <expiry>:<appId>:<channel>:<uid> with each part percent-encoded', () => {
    const username = appUsername({
      expiresAtS: 1_900_000_000,
      appId: APP_ID,
      channel: 'room:1/é',
      uid: "o'neil (x)",
    });
    expect(username).toBe(`1900000000:${APP_ID}:room%3A1%2F%C3%A9:o%27neil%20%28x%29`);
    expect(parseAppUsername(username)).toEqual({
      expiresAtS: 1_900_000_000,
      appId: APP_ID,
      channel: 'room:1/é',
      uid: "o'neil (x)",
    });
    expect(appIdOfUsername(username)).toBe(APP_ID);
  });

  it('round-trips any channel and uid', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.nat(2 ** 36),
        (channel, uid, expiresAtS) => {
          const username = appUsername({ expiresAtS, appId: APP_ID, channel, uid });
          expect(username.split(':')).toHaveLength(4);
          expect(parseAppUsername(username)).toEqual({ expiresAtS, appId: APP_ID, channel, uid });
        },
      ),
    );
  });

  it('does not take other usernames for app usernames', () => {
    for (const name of [
      'alice',
      '1700000000:demo',
      `1700000000:${APP_ID}:c`,
      `x:${APP_ID}:c:u`,
      `1:${APP_ID.toUpperCase()}:c:u`,
      `1:${APP_ID}::u`,
      `1:${APP_ID}:%E0:u`,
    ])
      expect(parseAppUsername(name), name).toBeUndefined();
  });
});

describe('client tokens', () => {
  const key = Buffer.alloc(32, 7);
  const scope = { appId: APP_ID, channel: 'c', uid: 'u', expiresAtS: 2_000_000_000 };

  it('verifies its own tokens until they expire', () => {
    const token = signClientToken(key, scope);
    expect(token.startsWith('cpt.')).toBe(true);
    expect(verifyClientToken(key, token, 1_999_999_999_000)).toEqual(scope);
    expect(verifyClientToken(key, token, 2_000_000_000_000)).toBeUndefined();
  });

  it('refuses tokens signed with another key, altered, or malformed', () => {
    const token = signClientToken(key, scope);
    expect(verifyClientToken(Buffer.alloc(32, 8), token, 0)).toBeUndefined();
    const [prefix, payload, mac] = token.split('.') as [string, string, string];
    const other = Buffer.from(
      JSON.stringify({ a: APP_ID, c: 'c', u: 'admin', e: 2_000_000_000 }),
    ).toString('base64url');
    expect(verifyClientToken(key, `${prefix}.${other}.${mac}`, 0)).toBeUndefined();
    expect(verifyClientToken(key, `${prefix}.${payload}`, 0)).toBeUndefined();
    expect(verifyClientToken(key, `${token}.x`, 0)).toBeUndefined();
    expect(verifyClientToken(key, 'cpt.', 0)).toBeUndefined();
    expect(verifyClientToken(key, `${prefix}.${payload}.${mac.slice(1)}`, 0)).toBeUndefined();
  });
});

describe('TURN URIs', () => {
  it('brackets IPv6 hosts', () => {
    expect(turnUris({ publicHost: '2001:db8::1', udpPort: 3478, tlsPort: 443 }, 'auto')).toEqual([
      'turn:[2001:db8::1]:3478?transport=udp',
      'turns:[2001:db8::1]:443?transport=tcp',
    ]);
  });
});
