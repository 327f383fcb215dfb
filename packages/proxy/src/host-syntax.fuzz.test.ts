/**
 * Property tests (fast-check) of the proxy's routing input: `parseProxyPath` and `parseHost` are
 * total on arbitrary request targets, and whatever they accept is a host that a URL parser or a
 * resolver cannot read as another one (no userinfo, escapes, backslashes, numeric IPv4 forms).
 * FUZZ_RUNS sets the runs per property (default 300; `npm run fuzz` runs many more).
 * @module
 */
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAuthority, parseHost } from './host-syntax.js';
import { parseProxyPath } from './proxy-path.js';

const NUM_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const params = { numRuns: NUM_RUNS };

/** Characters attackers use in host tricks, mixed with ordinary ones. */
const hostChar = fc.constantFrom(
  ...'abcxyz0123456789.-:[]@%\\/?#_ ~x0X'.split(''),
  '%2e',
  '%2f',
  '%3a',
  '%40',
  '0x',
  '::ffff:',
  '127',
  '\u3002',
  '\uff0e',
);
const hostLike = fc.array(hostChar, { maxLength: 24 }).map((parts) => parts.join(''));
const target = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.tuple(hostLike, fc.string({ maxLength: 20 })).map(([h, rest]) => `/${h}/${rest}`),
  fc.tuple(hostLike, fc.nat(70_000)).map(([h, p]) => `/${h}:${p}/x`),
);

function isNumericIpv4Spelling(hostname: string): boolean {
  try {
    const parsed = new URL(`https://${hostname}/`).hostname;
    return net.isIPv4(parsed) && parsed !== hostname;
  } catch {
    return false;
  }
}

describe('fuzz: proxy routing', () => {
  it('parseProxyPath is total and accepts only clean hosts', () => {
    fc.assert(
      fc.property(target, fc.boolean(), (requestTarget, exact) => {
        const parsed = parseProxyPath(requestTarget, () => exact);
        if (!parsed.ok) return;
        const { host, port, authority, path } = parsed.target;
        expect(host.hostname).not.toMatch(/[@%\\/?#\s[\]]/);
        expect(isNumericIpv4Spelling(host.hostname)).toBe(false);
        expect(port).toBeGreaterThanOrEqual(1);
        expect(port).toBeLessThanOrEqual(65_535);
        expect(path.startsWith('/')).toBe(true);
        expect(authority).toBe(formatAuthority(host, port));
        // The authority means the same host to a WHATWG URL parser (what undici dials).
        const dialled = new URL(`https://${authority}/`);
        expect(dialled.hostname.replace(/^\[|\]$/g, '')).toBe(host.hostname);
      }),
      params,
    );
  });

  it('parseHost is total and idempotent on what it accepts', () => {
    fc.assert(
      fc.property(
        fc.oneof(hostLike, fc.string({ maxLength: 40 }), fc.ipV4(), fc.ipV6()),
        (text) => {
          const host = parseHost(text);
          if (host === undefined) return;
          const again = parseHost(host.ipFamily === 6 ? `[${host.hostname}]` : host.hostname);
          expect(again).toEqual(host);
        },
      ),
      params,
    );
  });

  it('regressions: encoded and numeric hosts are never routed', () => {
    for (const url of [
      '/2130706433/x',
      '/0x7f.1/x',
      '/0177.0.0.1/x',
      '/127.1/x',
      '/%31%32%37.0.0.1/x',
      '/user@127.0.0.1/x',
      '/127.0.0.1\\@evil.example/x',
      '/example.com%2f@127.0.0.1/x',
      '/[::ffff:127.0.0.1%25eth0]/x',
    ]) {
      expect(parseProxyPath(url, () => true).ok, url).toBe(false);
    }
  });
});
