import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHostMatcher } from './host-matcher.js';
import { parseHost } from './host-syntax.js';

function allowed(patterns: string[], host: string): boolean {
  const parsed = parseHost(host);
  if (parsed === undefined) throw new Error(`test host ${host} does not parse`);
  return createHostMatcher(patterns).matches(parsed);
}

describe('createHostMatcher: *.domain matches on label boundaries', () => {
  const cases: [string, string, boolean][] = [
    ['*.azure.com', 'eu.azure.com', true],
    ['*.azure.com', 'a.b.azure.com', true],
    ['*.azure.com', 'EU.Azure.COM', true],
    ['*.azure.com', 'evilazure.com', false],
    ['*.azure.com', 'azure.com', false],
    ['*.azure.com', 'azure.com.evil.net', false],
    ['*.azure.com', 'eu.azure.co', false],
    ['*.azure.com', 'eu-azure.com', false],
    ['api.example.com', 'api.example.com', true],
    ['api.example.com', 'x.api.example.com', false],
    ['api.example.com', 'api.example.com.evil.net', false],
    ['localhost', 'localhost', true],
  ];
  for (const [pattern, host, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${host}`, () => {
      expect(allowed([pattern], host)).toBe(expected);
    });
  }
});

describe('createHostMatcher: IP literals', () => {
  it('matches an IPv4 literal exactly', () => {
    expect(allowed(['192.0.2.10'], '192.0.2.10')).toBe(true);
    expect(allowed(['192.0.2.10'], '192.0.2.11')).toBe(false);
  });
  it('compares IPv6 literals in canonical form, with or without brackets', () => {
    expect(allowed(['2001:db8:0:0::1'], '[2001:db8::1]')).toBe(true);
    expect(allowed(['[2001:DB8::1]'], '2001:db8::1')).toBe(true);
    expect(allowed(['2001:db8::1'], '2001:db8::2')).toBe(false);
  });
  it('never lets a wildcard match an IP literal', () => {
    expect(allowed(['*.example.com', '*.com'], '192.0.2.10')).toBe(false);
  });
  it('keeps names and IP literals apart', () => {
    expect(allowed(['1.2.3.com'], '1.2.3.com')).toBe(true);
  });
});

describe('createHostMatcher: invalid patterns are refused at construction', () => {
  for (const pattern of [
    '*',
    '*.',
    '**.example.com',
    'a.*.com',
    'exa mple.com',
    '*.192.0.2.1',
    'http://x.com',
    '127.1',
    '',
  ]) {
    it(`refuses '${pattern}'`, () => {
      expect(() => createHostMatcher([pattern])).toThrow(/allowHosts\[0\]/);
    });
  }
  it('names the option code', () => {
    expect(() => createHostMatcher(['*'])).toThrow(
      expect.objectContaining({ code: 'ERR_PROXY_INVALID_OPTION' }),
    );
  });
});

describe('createHostMatcher: property', () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
  it('a *.domain pattern matches exactly the names that end in .domain with a label in front', () => {
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.string({ maxLength: 12 }),
        (domainLabels, hostLabels, glue) => {
          const domain = [...domainLabels, 'com'].join('.');
          const host = `${hostLabels.join('.')}${glue}${domain}`;
          const parsed = parseHost(host);
          if (parsed === undefined) return;
          const expected = parsed.hostname.endsWith(`.${domain}`);
          expect(createHostMatcher([`*.${domain}`]).matches(parsed)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
