import { describe, expect, it } from 'vitest';
import { createHostMatcher } from './host-matcher.js';
import { parseProxyPath } from './proxy-path.js';
import type { UpstreamTarget } from './proxy-path.js';
import { redirectDropsBody, redirectTarget, rewriteLocation } from './redirects.js';

const policy = { hosts: createHostMatcher(['*.vendor.example']), ports: new Set([443, 8443]) };
function target(url: string): UpstreamTarget {
  const parsed = parseProxyPath(url, () => false);
  if (!parsed.ok) throw new Error(url);
  return parsed.target;
}
const current = target('/api.vendor.example/v1/join?x=1');

describe('rewriteLocation (pass mode)', () => {
  const cases: [string, string | undefined][] = [
    [
      'https://eu.vendor.example/v2/join?y=2',
      'https://proxy.example/eu.vendor.example/v2/join?y=2',
    ],
    ['/v2/join', 'https://proxy.example/api.vendor.example/v2/join'],
    ['other', 'https://proxy.example/api.vendor.example/v1/other'],
    [
      'https://eu.vendor.example:8443/a#frag',
      'https://proxy.example/eu.vendor.example:8443/a#frag',
    ],
    ['https://evil.example/steal', undefined],
    ['https://evilvendor.example/x', undefined],
    ['http://eu.vendor.example/x', undefined],
    ['https://eu.vendor.example:9999/x', undefined],
    ['https://user:pw@eu.vendor.example/x', undefined],
    ['https://[::1/x', undefined],
  ];
  for (const [location, expected] of cases) {
    it(`${location} → ${expected ?? 'dropped'}`, () => {
      expect(rewriteLocation(location, current, policy, 'https://proxy.example')).toBe(expected);
    });
  }
});

describe('redirectTarget (follow mode)', () => {
  it('returns the next upstream for an allowed target', () => {
    expect(redirectTarget('https://eu.vendor.example/z', current, policy)).toMatchObject({
      authority: 'eu.vendor.example',
      path: '/z',
    });
  });
  it('knows which redirects turn into GET without a body', () => {
    expect(redirectDropsBody(303, 'POST')).toBe(true);
    expect(redirectDropsBody(302, 'POST')).toBe(true);
    expect(redirectDropsBody(307, 'POST')).toBe(false);
    expect(redirectDropsBody(308, 'PUT')).toBe(false);
    expect(redirectDropsBody(301, 'GET')).toBe(false);
  });
});
