import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createTrustedProxies, normaliseAddress } from './client-address.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';

function rawToHeaders(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) out[raw[i]!.toLowerCase()] = raw[i + 1]!;
  return out;
}

const client = {
  address: '198.51.100.7',
  forwardedFor: '198.51.100.7',
  forwardedProto: 'https',
  forwardedHost: 'proxy.example',
};

describe('upstreamRequestHeaders', () => {
  const raw = [
    'Host',
    'proxy.example',
    'Authorization',
    'Bearer t',
    'Cookie',
    'sid=1',
    'Connection',
    'keep-alive, X-Secret-Hop',
    'X-Secret-Hop',
    'drop me',
    'Keep-Alive',
    'timeout=5',
    'Proxy-Authorization',
    'Basic x',
    'TE',
    'trailers',
    'Transfer-Encoding',
    'chunked',
    'Upgrade',
    'h2c',
    'X-Forwarded-For',
    '6.6.6.6',
    'Via',
    '1.1 edge',
    'X-Custom',
    'a',
    'X-Custom',
    'b',
  ];
  const out = upstreamRequestHeaders(
    raw,
    { connection: 'keep-alive, X-Secret-Hop', via: '1.1 edge' },
    { authority: 'api.vendor.example', client, via: 'cloudproxy' },
  );

  it('strips hop-by-hop headers and those named in Connection', () => {
    const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const hop of [
      'connection',
      'keep-alive',
      'x-secret-hop',
      'proxy-authorization',
      'te',
      'transfer-encoding',
      'upgrade',
    ]) {
      expect(names).not.toContain(hop);
    }
  });
  it('passes Authorization, cookies and repeated headers through', () => {
    const headers = rawToHeaders(out);
    expect(headers['authorization']).toBe('Bearer t');
    expect(headers['cookie']).toBe('sid=1');
    expect(out.filter((v) => v === 'X-Custom')).toHaveLength(2);
  });
  it('sets Host to the upstream, appends Via and replaces X-Forwarded-*', () => {
    const headers = rawToHeaders(out);
    expect(headers['host']).toBe('api.vendor.example');
    expect(headers['via']).toBe('1.1 edge, 1.1 cloudproxy');
    expect(headers['x-forwarded-for']).toBe('198.51.100.7');
    expect(headers['x-forwarded-proto']).toBe('https');
    expect(headers['x-forwarded-host']).toBe('proxy.example');
  });
  it('drops credentials when asked (redirect to another host)', () => {
    const headers = rawToHeaders(
      upstreamRequestHeaders(
        raw,
        {},
        { authority: 'x.example', client, via: 'cloudproxy', dropCredentials: true },
      ),
    );
    expect(headers['authorization']).toBeUndefined();
    expect(headers['cookie']).toBeUndefined();
  });
  it('drops the body headers when asked (a redirect that drops the body)', () => {
    const withBody = [...raw, 'Content-Length', '3', 'Content-Type', 'text/plain'];
    const kept = rawToHeaders(
      upstreamRequestHeaders(withBody, {}, { authority: 'x.example', client, via: 'cloudproxy' }),
    );
    expect(kept['content-length']).toBe('3');
    expect(kept['content-type']).toBe('text/plain');
    const headers = rawToHeaders(
      upstreamRequestHeaders(
        withBody,
        {},
        { authority: 'x.example', client, via: 'cloudproxy', dropBody: true },
      ),
    );
    expect(headers['content-length']).toBeUndefined();
    expect(headers['content-type']).toBeUndefined();
    expect(headers['x-custom']).toBe('b');
  });
});

describe('clientResponseHeaders', () => {
  it('strips hop-by-hop headers, keeps set-cookie arrays, appends Via', () => {
    const out = clientResponseHeaders(
      {
        connection: 'close, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'set-cookie': ['a=1', 'b=2'],
        'access-control-allow-origin': '*',
        via: '1.0 origin',
      },
      'cloudproxy',
      (name) => name.startsWith('access-control-'),
    );
    expect(out).toEqual({ 'set-cookie': ['a=1', 'b=2'], via: '1.0 origin, 1.1 cloudproxy' });
  });
});

function fakeRequest(remoteAddress: string, headers: Record<string, string>): IncomingMessage {
  return { socket: { remoteAddress, encrypted: true }, headers } as unknown as IncomingMessage;
}

describe('createTrustedProxies', () => {
  const trusted = createTrustedProxies(['10.0.0.0/8', '::1']);
  it('ignores X-Forwarded-* from an untrusted peer', () => {
    const info = trusted.clientInfo(
      fakeRequest('203.0.113.5', {
        'x-forwarded-for': '1.2.3.4',
        'x-forwarded-proto': 'http',
        host: 'p.example',
      }),
    );
    expect(info).toEqual({
      address: '203.0.113.5',
      forwardedFor: '203.0.113.5',
      forwardedProto: 'https',
      forwardedHost: 'p.example',
    });
  });
  it('believes a trusted peer and takes the nearest untrusted hop as the client', () => {
    const info = trusted.clientInfo(
      fakeRequest('::ffff:10.1.1.1', {
        'x-forwarded-for': '6.6.6.6, 198.51.100.9, 10.2.2.2',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'front.example',
      }),
    );
    expect(info).toEqual({
      address: '198.51.100.9',
      forwardedFor: '6.6.6.6, 198.51.100.9, 10.2.2.2, 10.1.1.1',
      forwardedProto: 'http',
      forwardedHost: 'front.example',
    });
  });
  it('refuses malformed ranges', () => {
    expect(() => createTrustedProxies(['10.0.0.0/33'])).toThrow(/trustedProxies\[0\]/);
    expect(() => createTrustedProxies(['nonsense'])).toThrow(/trustedProxies\[0\]/);
  });
  it('normalises IPv4-mapped addresses', () => {
    expect(normaliseAddress('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normaliseAddress('2001:db8::1')).toBe('2001:db8::1');
  });
});
