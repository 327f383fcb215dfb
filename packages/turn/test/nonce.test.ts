/**
 * Stateless nonces (nonce.ts): bound to the client's IP and expiry, the same with node:crypto's
 * HMAC and the native plane's, and never computed over a truncated address.
 */
import { loadDataPlane } from '@cloudproxy/dataplane';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { describe, expect, it } from 'vitest';
import { NonceIssuer } from '../src/nonce.js';
import { chooseDataPlane, stunCryptoFor } from '../src/node/data-plane-choice.js';

const secret = new Uint8Array(32).fill(7);
const issuer = (crypto = nodeStunCrypto) => new NonceIssuer({ secret, lifetimeS: 60, crypto });

describe('NonceIssuer', () => {
  it('accepts its nonce from the same IP until it expires, and only from that IP', () => {
    const nonces = issuer();
    for (const ip of ['192.0.2.1', '2001:db8::1', '::ffff:192.0.2.1', 'fe80::1%eth0']) {
      const nonce = nonces.issue(ip, 1_000);
      expect(nonces.check(nonce, ip, 1_000)).toBe('valid');
      expect(nonces.check(nonce, ip, 60_999)).toBe('valid');
      expect(nonces.check(nonce, ip, 61_000)).toBe('stale');
      expect(nonces.check(nonce, `${ip}0`, 1_000)).toBe('invalid');
    }
    const nonce = nonces.issue('192.0.2.1', 1_000);
    expect(nonces.check(nonce, '192.0.2.10', 1_000)).toBe('invalid');
    expect(
      nonces.check(nonce.slice(0, -1) + (nonce.endsWith('A') ? 'B' : 'A'), '192.0.2.1', 1_000),
    ).toBe('invalid');
    expect(issuer(nodeStunCrypto).check('obMatJos2wAAAx', '192.0.2.1', 0)).toBe('invalid');
  });

  it('binds the whole text of an address longer than any IP literal', () => {
    const nonces = issuer();
    const long = `fe80::1%${'x'.repeat(100)}`;
    const nonce = nonces.issue(long, 0);
    expect(nonces.check(nonce, long, 0)).toBe('valid');
    expect(nonces.check(nonce, `${long.slice(0, -1)}y`, 0)).toBe('invalid');
  });

  it.skipIf(!loadDataPlane())('gives the same nonces with the native plane’s HMAC', () => {
    const choice = chooseDataPlane('native', {});
    const native = issuer(stunCryptoFor(choice));
    const node = issuer();
    for (const ip of ['192.0.2.1', '2001:db8::42', `fe80::1%${'z'.repeat(80)}`]) {
      expect(native.issue(ip, 5_000)).toBe(node.issue(ip, 5_000));
      expect(native.check(node.issue(ip, 5_000), ip, 5_000)).toBe('valid');
    }
  });
});
