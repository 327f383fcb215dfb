import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHostMatcher } from './host-matcher.js';
import { createProxyPathParser, parseProxyPath } from './proxy-path.js';

const none = (): boolean => false;

describe('parseProxyPath: routes /{host[:port]}/{path}?{query}', () => {
  const cases: [string, string, number, string, string][] = [
    // url, hostname, port, authority, path
    [
      '/api.example.com/v1/rooms?x=1&y=2',
      'api.example.com',
      443,
      'api.example.com',
      '/v1/rooms?x=1&y=2',
    ],
    ['/API.Example.com:8443/a%2Fb', 'api.example.com', 8443, 'api.example.com:8443', '/a%2Fb'],
    ['/api.example.com', 'api.example.com', 443, 'api.example.com', '/'],
    ['/api.example.com?q=1', 'api.example.com', 443, 'api.example.com', '/?q=1'],
    ['/192.0.2.1:443/x', '192.0.2.1', 443, '192.0.2.1', '/x'],
    ['/[2001:db8::1]:8443/ws', '2001:db8::1', 8443, '[2001:db8::1]:8443', '/ws'],
    ['/[2001:DB8:0::1]/', '2001:db8::1', 443, '[2001:db8::1]', '/'],
    ['/a.b/x//y/../z', 'a.b', 443, 'a.b', '/x//y/../z'],
  ];
  for (const [url, hostname, port, authority, path] of cases) {
    it(`${url} → https://${authority}${path}`, () => {
      const parsed = parseProxyPath(url, none);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.target.host.hostname).toBe(hostname);
      expect(parsed.target).toMatchObject({ port, authority, path });
    });
  }
});

describe('parseProxyPath: other paths are not proxy paths', () => {
  for (const url of [
    '/',
    '/api/v1/sessions',
    '/metrics',
    '//api.example.com/x',
    'https://api.example.com/x',
    '*',
    '/localhost/x',
    '/::1/x',
  ]) {
    it(`${url} is not-found`, () => {
      expect(parseProxyPath(url, none)).toMatchObject({ ok: false, code: 'not-found' });
    });
  }
  it('a dotless name routes only when it is an exact allowlist entry', () => {
    const matcher = createHostMatcher(['localhost']);
    expect(parseProxyPath('/localhost:8443/x', matcher.isExactName)).toMatchObject({ ok: true });
    expect(parseProxyPath('/intranet/x', matcher.isExactName)).toMatchObject({ code: 'not-found' });
  });
});

describe('parseProxyPath: malformed hosts and ports are bad-path', () => {
  for (const url of [
    '/api.example.com:0/x',
    '/api.example.com:65536/x',
    '/api.example.com:0443/x',
    '/api.example.com:/x',
    '/api.example.com:44a/x',
    '/127.1/x',
    '/127.0.0.1.5/x',
    '/0x7f.0.0.1/x',
    '/user@api.example.com/x',
    '/api..example.com/x',
    '/api.example.com./x',
    '/-api.example.com/x',
    '/api%2eexample.com/x',
    '/[127.0.0.1]/x',
    '/[::1/x',
    '/[fe80::1%25eth0]/x',
    '/api.example.com/x#frag',
  ]) {
    it(`${url} is bad-path`, () => {
      expect(parseProxyPath(url, none)).toMatchObject({ ok: false, code: 'bad-path' });
    });
  }
});

describe('parseProxyPath + allowlist: property', () => {
  const allowHosts = ['*.vendor.example', 'api.other.example', '192.0.2.7'];
  const matcher = createHostMatcher(allowHosts);
  const pieces = fc.constantFrom(
    '/',
    '.',
    ':',
    '[',
    ']',
    '@',
    '%2e',
    '?',
    '#',
    'vendor',
    'example',
    'evil',
    'other',
    'api',
    '192',
    '0',
    '2',
    '7',
    '443',
    'x',
    '-',
    '::1',
    '\u00e9',
    ' ',
  );
  const url = fc.array(pieces, { maxLength: 14 }).map((parts) => `/${parts.join('')}`);
  it('never throws and never routes a host that is not allowlisted', () => {
    fc.assert(
      fc.property(fc.oneof(url, fc.string({ maxLength: 40 })), (text) => {
        const parsed = parseProxyPath(text, matcher.isExactName);
        if (!parsed.ok) return;
        const { hostname } = parsed.target.host;
        const listed =
          hostname.endsWith('.vendor.example') ||
          hostname === 'api.other.example' ||
          hostname === '192.0.2.7';
        expect(matcher.matches(parsed.target.host)).toBe(listed);
        expect(parsed.target.path.startsWith('/')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
  it('the remembering parser of a proxy gives the same results, asked once or again', () => {
    const parse = createProxyPathParser(matcher.isExactName);
    fc.assert(
      fc.property(fc.oneof(url, fc.string({ maxLength: 40 })), (text) => {
        const expected = parseProxyPath(text, matcher.isExactName);
        expect(parse(text)).toEqual(expected);
        expect(parse(text)).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('createProxyPathParser', () => {
  it('keeps answering correctly past its memory bound and for long segments', () => {
    const parse = createProxyPathParser(() => false);
    for (let i = 0; i < 3000; i++) {
      const parsed = parse(`/h${i}.example:${(i % 60000) + 1}/p${i}`);
      expect(parsed.ok && parsed.target.path).toBe(`/p${i}`);
      expect(parsed.ok && parsed.target.port).toBe((i % 60000) + 1);
    }
    const long = `${'a'.repeat(60)}.`.repeat(5);
    expect(parse(`/${long}x/y`)).toEqual(parseProxyPath(`/${long}x/y`, () => false));
    expect(parse('/api.example.com/x#frag')).toMatchObject({ ok: false, code: 'bad-path' });
    expect(parse('/api.example.com/x')).toMatchObject({ ok: true });
  });
});
