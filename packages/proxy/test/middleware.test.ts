/**
 * createSignalingProxy as a connect/Express-style middleware inside an application's own HTTPS
 * server, option validation, and presets.
 */
import { once } from 'node:events';
import https from 'node:https';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startHttpsUpstream } from '../../../test/helpers/https-upstream.js';
import type { HttpsUpstream } from '../../../test/helpers/https-upstream.js';
import { PRESETS, PROXY_ERROR_CODES, createSignalingProxy } from '../src/index.js';
import type { SignalingProxy } from '../src/index.js';
import { testLookup } from './harness.js';

let upstream: HttpsUpstream;
let proxy: SignalingProxy;
let server: https.Server;
let base: string;
let client: Agent;

beforeAll(async () => {
  upstream = await startHttpsUpstream();
  proxy = createSignalingProxy({
    allowHosts: ['127.0.0.1'],
    allowPorts: [upstream.port],
    allowPrivateUpstream: ['127.0.0.0/8'],
    upstreamCa: upstream.pki.caPem,
  });
  // An application server: its own route, then the proxy as middleware.
  server = https.createServer(
    { cert: upstream.pki.certPem, key: upstream.pki.keyPem },
    (req, res) => {
      proxy(req, res, () => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`app route ${req.url ?? ''}`);
      });
    },
  );
  server.on('upgrade', (req, socket, head: Buffer) => {
    if (proxy.isProxyPath(req.url ?? '')) proxy.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not bound');
  base = `https://127.0.0.1:${address.port}`;
  client = new Agent({ connect: { ca: upstream.pki.caPem } });
});

afterAll(async () => {
  await client.destroy();
  await proxy.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await upstream.close();
});

describe('as middleware', () => {
  it('leaves non-proxy paths to the application (next)', async () => {
    const res = await request(`${base}/api/v1/status`, { dispatcher: client });
    expect(await res.body.text()).toBe('app route /api/v1/status');
  });

  it('proxies proxy paths', async () => {
    const res = await request(`${base}/127.0.0.1:${upstream.port}/echo?m=1`, {
      dispatcher: client,
    });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { url: string }).url).toBe('/echo?m=1');
  });

  it('proxies websockets through the server upgrade hook', async () => {
    const ws = new WebSocket(`${base.replace('https', 'wss')}/127.0.0.1:${upstream.port}/ws`, {
      ca: upstream.pki.caPem,
    });
    await once(ws, 'open');
    ws.send('ping');
    const [data] = (await once(ws, 'message')) as [Buffer];
    expect(data.toString()).toBe('ping');
    ws.close();
    await once(ws, 'close');
  });

  it('says which paths are proxy paths', () => {
    expect(proxy.isProxyPath('/api.vendor.example/x')).toBe(true);
    expect(proxy.isProxyPath('/api.vendor.example:99999/x')).toBe(true); // bad-path, still ours
    expect(proxy.isProxyPath('/api/v1/x')).toBe(false);
    expect(proxy.isProxyPath('/')).toBe(false);
  });
});

describe('options', () => {
  const invalid: [string, Parameters<typeof createSignalingProxy>[0], RegExp][] = [
    ['an unknown preset', { allowHosts: [], presets: ['nope'] }, /presets: unknown preset 'nope'/],
    [
      "cors '*' with credentials",
      { allowHosts: [], cors: { origins: ['*'], credentials: true } },
      /cors: origin/,
    ],
    [
      'a bad private range',
      { allowHosts: [], allowPrivateUpstream: ['10.0.0.0/99'] },
      /allowPrivateUpstream/,
    ],
    ['a bad port', { allowHosts: [], allowPorts: [70000] }, /allowPorts\[0\]/],
    ['a bad host pattern', { allowHosts: ['*'] }, /allowHosts\[0\]/],
    ['a zero body limit', { allowHosts: [], limits: { maxBodyBytes: 0 } }, /limits.maxBodyBytes/],
  ];
  for (const [name, options, message] of invalid) {
    it(`refuses ${name} at construction`, () => {
      expect(() => createSignalingProxy(options)).toThrow(message);
    });
  }

  it('offers the calling-vendors preset, enabled only when asked for', async () => {
    expect(PRESETS['calling-vendors']).toContain('*.twilio.com');
    const plain = createSignalingProxy({ allowHosts: [], lookup: testLookup() });
    const withPreset = createSignalingProxy({
      allowHosts: [],
      presets: ['calling-vendors'],
      lookup: testLookup(),
    });
    try {
      for (const [candidate, expected] of [
        [plain, 'host-not-allowed'],
        [withPreset, 'upstream-unreachable'], // allowed, then the test resolver knows no such name
      ] as const) {
        const srv = https.createServer(
          { cert: upstream.pki.certPem, key: upstream.pki.keyPem },
          (req, res) => {
            candidate(req, res);
          },
        );
        srv.listen(0, '127.0.0.1');
        await once(srv, 'listening');
        const port = (srv.address() as { port: number }).port;
        const res = await request(`https://127.0.0.1:${port}/video.twilio.com/v1/x`, {
          dispatcher: client,
        });
        expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe(expected);
        srv.closeAllConnections();
        srv.close();
      }
    } finally {
      await plain.close();
      await withPreset.close();
    }
  });

  it('lists every error code with a status and a description', () => {
    for (const entry of PROXY_ERROR_CODES) {
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });
});
