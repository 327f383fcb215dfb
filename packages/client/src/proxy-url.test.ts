import { describe, expect, it, vi } from 'vitest';
import { createClient } from './client.js';
import { CloudProxyError } from './errors.js';
import { createProxiedFetch, createProxiedWebSocket } from './proxied-transport.js';
import { resolveProxyConfiguration, rewriteUrl } from './proxy-url.js';

const proxy = resolveProxyConfiguration({ url: 'https://proxy.example.com' }, 'proxy');

describe('rewriteUrl', () => {
  it.each([
    [
      'https://api.example.com/v1/rooms?x=1',
      'https://proxy.example.com/api.example.com/v1/rooms?x=1',
    ],
    ['https://api.example.com', 'https://proxy.example.com/api.example.com/'],
    ['https://api.example.com:8443/a', 'https://proxy.example.com/api.example.com:8443/a'],
    ['https://api.example.com:443/a', 'https://proxy.example.com/api.example.com/a'],
    ['wss://signal.example.com/ws?room=1', 'wss://proxy.example.com/signal.example.com/ws?room=1'],
    ['wss://signal.example.com:9443/', 'wss://proxy.example.com/signal.example.com:9443/'],
    ['https://[2001:db8::1]/x', 'https://proxy.example.com/[2001:db8::1]/x'],
    ['HTTPS://API.EXAMPLE.COM/A', 'https://proxy.example.com/api.example.com/A'],
    ['https://api.example.com/a%20b', 'https://proxy.example.com/api.example.com/a%20b'],
  ])('proxies %s', (input, output) => {
    expect(rewriteUrl(input, proxy)).toBe(output);
    expect(rewriteUrl(new URL(input), proxy)).toBe(output);
  });

  it.each([
    'http://api.example.com/a',
    'ws://signal.example.com/ws',
    '/relative/path',
    'relative/path',
    'data:text/plain,hi',
    'https://user:pw@api.example.com/a',
    'https://proxy.example.com/api.example.com/a',
  ])('leaves %s direct', (input) => {
    expect(rewriteUrl(input, proxy)).toBe(input);
  });

  it('leaves everything direct without a proxy', () => {
    expect(rewriteUrl('https://api.example.com/a', undefined)).toBe('https://api.example.com/a');
  });

  it('proxies only the configured hosts (exact and *. subdomains)', () => {
    const limited = resolveProxyConfiguration(
      { url: 'https://proxy.example.com', hosts: ['api.example.com', '*.signal.example.org'] },
      'proxy',
    );
    expect(rewriteUrl('https://api.example.com/a', limited)).toBe(
      'https://proxy.example.com/api.example.com/a',
    );
    expect(rewriteUrl('https://API.example.com/a', limited)).toBe(
      'https://proxy.example.com/api.example.com/a',
    );
    expect(rewriteUrl('wss://eu.signal.example.org/ws', limited)).toBe(
      'wss://proxy.example.com/eu.signal.example.org/ws',
    );
    expect(rewriteUrl('wss://signal.example.org/ws', limited)).toBe('wss://signal.example.org/ws');
    expect(rewriteUrl('https://other.example.com/a', limited)).toBe('https://other.example.com/a');
    expect(rewriteUrl('https://xapi.example.com/a', limited)).toBe('https://xapi.example.com/a');
  });

  it('keeps a path prefix of the proxy URL and maps an http localhost proxy to ws:', () => {
    const local = resolveProxyConfiguration({ url: 'http://localhost:8080/p/' }, 'proxy');
    expect(rewriteUrl('https://api.example.com/a', local)).toBe(
      'http://localhost:8080/p/api.example.com/a',
    );
    expect(rewriteUrl('wss://api.example.com/ws', local)).toBe(
      'ws://localhost:8080/p/api.example.com/ws',
    );
  });

  it('is exposed as client.proxiedUrl', () => {
    const client = createClient({
      networkConfiguration: { proxy: { url: 'https://proxy.example.com' } },
    });
    expect(client.proxiedUrl('https://a.example.com/b')).toBe(
      'https://proxy.example.com/a.example.com/b',
    );
  });
});

describe('proxied fetch', () => {
  it('rewrites string, URL and Request inputs and passes init through', async () => {
    const calls: { url: string; method: string | undefined }[] = [];
    const fake = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const method = input instanceof Request ? input.method : init?.method;
      calls.push({ url, method });
      return Promise.resolve(new Response('ok'));
    });
    const client = createClient({
      networkConfiguration: {
        proxy: { url: 'https://proxy.example.com', hosts: ['api.example.com'] },
      },
      fetch: fake,
    });
    await client.fetch('https://api.example.com/a', { method: 'PUT' });
    await client.fetch(new URL('https://api.example.com/b'));
    await client.fetch(new Request('https://api.example.com/c', { method: 'POST', body: 'x' }));
    await client.fetch('https://direct.example.com/d');
    expect(calls).toEqual([
      { url: 'https://proxy.example.com/api.example.com/a', method: 'PUT' },
      { url: 'https://proxy.example.com/api.example.com/b', method: undefined },
      { url: 'https://proxy.example.com/api.example.com/c', method: 'POST' },
      { url: 'https://direct.example.com/d', method: undefined },
    ]);
  });

  it('uses globalThis.fetch by default', async () => {
    const spy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('ok'));
    try {
      const proxied = createProxiedFetch(proxy, undefined);
      await proxied('https://a.example.com/x');
      expect(spy).toHaveBeenCalledWith('https://proxy.example.com/a.example.com/x', undefined);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('proxied WebSocket', () => {
  class FakeSocket {
    static readonly OPEN = 1;
    readonly url: string;
    readonly protocols: string | string[] | undefined;
    constructor(url: string | URL, protocols?: string | string[]) {
      this.url = url.toString();
      this.protocols = protocols;
    }
  }

  it('opens wss URLs of proxied hosts through the proxy and keeps the base class', () => {
    const client = createClient({
      networkConfiguration: { proxy: { url: 'https://proxy.example.com' } },
      WebSocket: FakeSocket as unknown as typeof WebSocket,
    });
    const Ws = client.WebSocket;
    const socket = new Ws('wss://signal.example.com/ws?room=1', ['v1']) as unknown as FakeSocket;
    expect(socket.url).toBe('wss://proxy.example.com/signal.example.com/ws?room=1');
    expect(socket.protocols).toEqual(['v1']);
    expect(socket).toBeInstanceOf(FakeSocket);
    expect(Ws.OPEN).toBe(1);
    expect(client.WebSocket).toBe(Ws);
  });

  it('throws UNSUPPORTED when no WebSocket implementation exists', () => {
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
    try {
      expect(() => createProxiedWebSocket(proxy, undefined)).toThrow(CloudProxyError);
      expect(() => createProxiedWebSocket(proxy, undefined)).toThrow(/options.WebSocket/);
    } finally {
      if (saved !== undefined) (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    }
  });
});
