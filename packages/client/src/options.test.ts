import { describe, expect, it } from 'vitest';
import { createClient } from './client.js';
import {
  CLIENT_ERROR_CODES,
  ClientErrorCode,
  CloudProxyError,
  isCloudProxyError,
} from './errors.js';

const T = 'networkConfiguration.turn.iceServers';
const turnServer = { urls: 'turn:203.0.113.7:3478', username: 'u', credential: 'p' };

function creationError(options: unknown): CloudProxyError {
  try {
    createClient(options as Parameters<typeof createClient>[0]);
  } catch (err) {
    if (err instanceof CloudProxyError) return err;
    throw err;
  }
  throw new Error('expected createClient to throw');
}

describe('createClient validation', () => {
  it('accepts no options at all', () => {
    expect(createClient().mode).toBeUndefined();
  });

  it('accepts a full configuration', () => {
    const client = createClient({
      networkConfiguration: {
        turn: {
          iceServers: [
            turnServer,
            {
              urls: ['stun:stun.example.com', 'turns:relay.example.com:443?transport=tcp'],
              username: 'a',
              credential: 'b',
            },
          ],
        },
        proxy: { url: 'https://proxy.example.com', hosts: ['api.example.com', '*.example.org'] },
      },
      mode: 5,
      autoFallback: { directTimeoutMs: 2000, relayTimeoutMs: 8000 },
    });
    expect(client.mode).toBe('force-tcp');
  });

  const cases: [string, unknown, string, string, RegExp][] = [
    ['options not an object', 42, 'INVALID_OPTION', 'options', /expected an object/],
    [
      'networkConfiguration not an object',
      { networkConfiguration: 'x' },
      'INVALID_OPTION',
      'networkConfiguration',
      /expected an object/,
    ],
    [
      'turn not an object',
      { networkConfiguration: { turn: [] } },
      'INVALID_OPTION',
      'networkConfiguration.turn',
      /got an array/,
    ],
    [
      'iceServers missing',
      { networkConfiguration: { turn: {} } },
      'INVALID_OPTION',
      T,
      /expected an array, got undefined/,
    ],
    [
      'iceServers empty',
      { networkConfiguration: { turn: { iceServers: [] } } },
      'INVALID_OPTION',
      T,
      /list is empty/,
    ],
    [
      'server not an object',
      { networkConfiguration: { turn: { iceServers: ['turn:x.example.com'] } } },
      'INVALID_OPTION',
      `${T}[0]`,
      /expected an object/,
    ],
    [
      'urls missing',
      { networkConfiguration: { turn: { iceServers: [{ username: 'u', credential: 'p' }] } } },
      'INVALID_OPTION',
      `${T}[0].urls`,
      /expected a URL string or an array/,
    ],
    [
      'urls empty',
      { networkConfiguration: { turn: { iceServers: [{ urls: [] }] } } },
      'INVALID_OPTION',
      `${T}[0].urls`,
      /URL list is empty/,
    ],
    [
      'url not a string',
      { networkConfiguration: { turn: { iceServers: [{ urls: ['stun:a.example.com', 7] }] } } },
      'INVALID_OPTION',
      `${T}[0].urls[1]`,
      /expected a string, got number/,
    ],
    [
      'bad second url',
      {
        networkConfiguration: {
          turn: {
            iceServers: [
              turnServer,
              { ...turnServer, urls: ['turn:ok.example.com', 'turn://bad'] },
            ],
          },
        },
      },
      'INVALID_ICE_SERVER_URL',
      `${T}[1].urls[1]`,
      /without '\/\/'/,
    ],
    [
      'bad single url',
      {
        networkConfiguration: {
          turn: { iceServers: [{ ...turnServer, urls: 'turn:x.example.com:99999' }] },
        },
      },
      'INVALID_ICE_SERVER_URL',
      `${T}[0].urls`,
      /port '99999'/,
    ],
    [
      'bad transport',
      {
        networkConfiguration: {
          turn: { iceServers: [{ ...turnServer, urls: 'turn:x.example.com?transport=quic' }] },
        },
      },
      'INVALID_TRANSPORT',
      `${T}[0].urls`,
      /'quic' is not one of udp, tcp, tls/,
    ],
    [
      'turn without username',
      {
        networkConfiguration: {
          turn: { iceServers: [{ urls: 'turn:x.example.com', credential: 'p' }] },
        },
      },
      'MISSING_CREDENTIAL',
      `${T}[0].username`,
      /required for turn: URLs/,
    ],
    [
      'turns without credential',
      {
        networkConfiguration: {
          turn: { iceServers: [{ urls: 'turns:x.example.com', username: 'u' }] },
        },
      },
      'MISSING_CREDENTIAL',
      `${T}[0].credential`,
      /required for turns: URLs/,
    ],
    [
      'empty credential',
      {
        networkConfiguration: {
          turn: { iceServers: [{ urls: 'turn:x.example.com', username: 'u', credential: '' }] },
        },
      },
      'MISSING_CREDENTIAL',
      `${T}[0].credential`,
      /required/,
    ],
    [
      'username not a string',
      {
        networkConfiguration: {
          turn: { iceServers: [{ urls: 'turn:x.example.com', username: 1, credential: 'p' }] },
        },
      },
      'INVALID_OPTION',
      `${T}[0].username`,
      /expected a string/,
    ],
    [
      'proxy not an object',
      { networkConfiguration: { proxy: 'https://p.example.com' } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy',
      /expected an object/,
    ],
    [
      'proxy url missing',
      { networkConfiguration: { proxy: {} } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.url',
      /expected a URL string/,
    ],
    [
      'proxy url relative',
      { networkConfiguration: { proxy: { url: '/proxy' } } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.url',
      /not an absolute URL/,
    ],
    [
      'proxy url http',
      { networkConfiguration: { proxy: { url: 'http://proxy.example.com' } } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.url',
      /must use https \(http is accepted for localhost only\)/,
    ],
    [
      'proxy url ws',
      { networkConfiguration: { proxy: { url: 'wss://proxy.example.com' } } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.url',
      /must be an https URL, got wss:/,
    ],
    [
      'proxy url with user',
      { networkConfiguration: { proxy: { url: 'https://a:b@proxy.example.com' } } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.url',
      /user info/,
    ],
    [
      'proxy url with query',
      { networkConfiguration: { proxy: { url: 'https://proxy.example.com/?x=1' } } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.url',
      /query or fragment/,
    ],
    [
      'proxy hosts not an array',
      { networkConfiguration: { proxy: { url: 'https://p.example.com', hosts: 'a.com' } } },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.hosts',
      /expected an array/,
    ],
    [
      'proxy host with scheme',
      {
        networkConfiguration: {
          proxy: { url: 'https://p.example.com', hosts: ['ok.com', 'https://a.com'] },
        },
      },
      'INVALID_PROXY_URL',
      'networkConfiguration.proxy.hosts[1]',
      /not a host name/,
    ],
    ['bad mode', { mode: 4 }, 'INVALID_MODE', 'mode', /not a proxy mode/],
    ['bad profile', { profile: 'desktop' }, 'INVALID_OPTION', 'profile', /'web' or 'mobile'/],
    [
      'bad timeout',
      { autoFallback: { directTimeoutMs: -1 } },
      'INVALID_OPTION',
      'autoFallback.directTimeoutMs',
      /positive number/,
    ],
    [
      'bad relay timeout',
      { autoFallback: { relayTimeoutMs: 'x' } },
      'INVALID_OPTION',
      'autoFallback.relayTimeoutMs',
      /positive number/,
    ],
    [
      'bad restart flag',
      { restartIceOnRefresh: 'yes' },
      'INVALID_OPTION',
      'restartIceOnRefresh',
      /boolean/,
    ],
    ['fetch not a function', { fetch: 1 }, 'INVALID_OPTION', 'fetch', /expected a function/],
    [
      'WebSocket not a function',
      { WebSocket: {} },
      'INVALID_OPTION',
      'WebSocket',
      /expected a function/,
    ],
    [
      'credentials not an object',
      { credentials: 'token' },
      'INVALID_OPTION',
      'credentials',
      /object or a function/,
    ],
    [
      'credentials endpoint http',
      { credentials: { endpoint: 'http://cp.example.com/x', token: 't', channel: 'c', uid: 'u' } },
      'INVALID_OPTION',
      'credentials.endpoint',
      /absolute https URL/,
    ],
    [
      'credentials without token',
      { credentials: { endpoint: 'https://cp.example.com/x', channel: 'c', uid: 'u' } },
      'INVALID_OPTION',
      'credentials.token',
      /non-empty string/,
    ],
    [
      'credentials without channel',
      { credentials: { endpoint: 'https://cp.example.com/x', token: 't', uid: 'u' } },
      'INVALID_OPTION',
      'credentials.channel',
      /non-empty string/,
    ],
    [
      'credentials without uid',
      { credentials: { endpoint: 'https://cp.example.com/x', token: 't', channel: 'c', uid: '' } },
      'INVALID_OPTION',
      'credentials.uid',
      /non-empty string/,
    ],
    [
      'credentials bad ttl',
      {
        credentials: {
          endpoint: 'https://cp.example.com/x',
          token: 't',
          channel: 'c',
          uid: 'u',
          ttlS: 1.5,
        },
      },
      'INVALID_OPTION',
      'credentials.ttlS',
      /positive integer/,
    ],
  ];
  it.each(cases)('refuses %s', (_name, options, code, field, message) => {
    const err = creationError(options);
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message).toMatch(message);
    expect(isCloudProxyError(err)).toBe(true);
    expect(err.name).toBe('CloudProxyError');
  });

  it('accepts http proxies and endpoints on localhost only', () => {
    expect(() =>
      createClient({
        networkConfiguration: { proxy: { url: 'http://localhost:8080/prefix/' } },
        credentials: {
          endpoint: 'http://127.0.0.1:9/api',
          token: () => 't',
          channel: 'c',
          uid: 'u',
        },
      }),
    ).not.toThrow();
  });
});

describe('error catalog', () => {
  it('lists every code exactly once, each with a description', () => {
    const codes = CLIENT_ERROR_CODES.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual(Object.values(ClientErrorCode).sort());
    for (const entry of CLIENT_ERROR_CODES) expect(entry.description.length).toBeGreaterThan(10);
  });
});
