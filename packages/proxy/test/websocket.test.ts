/**
 * WebSockets through the proxy against a real WebSocket echo upstream over TLS (test CA).
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { startHttpsUpstream } from '../../../test/helpers/https-upstream.js';
import type { HttpsUpstream } from '../../../test/helpers/https-upstream.js';
import { startProxy } from './harness.js';
import type { ProxyFixture } from './harness.js';
import type { SignalingProxyOptions } from '../src/index.js';

let upstream: HttpsUpstream;
let fixtures: ProxyFixture[] = [];
let sockets: WebSocket[] = [];

beforeAll(async () => {
  upstream = await startHttpsUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  sockets = [];
  await Promise.all(fixtures.map((f) => f.close()));
  fixtures = [];
});

async function proxy(overrides: Partial<SignalingProxyOptions> = {}): Promise<ProxyFixture> {
  const fixture = await startProxy(upstream, overrides);
  fixtures.push(fixture);
  return fixture;
}

async function open(
  f: ProxyFixture,
  path: string,
  protocols: string[] = [],
  headers: Record<string, string> = {},
): Promise<WebSocket> {
  const ws = f.websocket(path, protocols, headers);
  sockets.push(ws);
  await once(ws, 'open');
  return ws;
}

/** Opens a WebSocket expecting the handshake to be refused; returns status and JSON body. */
async function refused(f: ProxyFixture, path: string): Promise<{ status: number; body: string }> {
  const ws = f.websocket(path);
  // terminate() of a refused handshake reports an error by design; the status is what we check.
  ws.on('error', () => undefined);
  sockets.push(ws);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let body = '';
  for await (const chunk of response) body += String(chunk);
  return { status: response.statusCode ?? 0, body };
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => {
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      resolve({ data, isBinary });
    });
  });
}

describe('websocket proxying', () => {
  it('relays text and binary messages both ways with the subprotocol the upstream chose', async () => {
    const f = await proxy();
    const ws = await open(f, `/${f.target}/ws/room?token=abc`, ['chat.v2', 'chat.v1'], {
      authorization: 'Bearer t',
    });
    expect(ws.protocol).toBe('chat.v2');
    ws.send('hello');
    const text = await nextMessage(ws);
    expect(text).toEqual({ data: Buffer.from('hello'), isBinary: false });
    ws.send(Buffer.from([1, 2, 3]));
    const binary = await nextMessage(ws);
    expect(binary).toEqual({ data: Buffer.from([1, 2, 3]), isBinary: true });
    const handshake = upstream.handshakes.at(-1);
    expect(handshake?.url).toBe('/ws/room?token=abc');
    expect(handshake?.headers).toMatchObject({
      authorization: 'Bearer t',
      host: f.target,
      via: '1.1 cloudproxy',
      'x-forwarded-for': '127.0.0.1',
    });
    expect(await f.registry.metrics()).toContain('cloudproxy_proxy_websockets_open 1');
  });

  it('relays many large messages with back-pressure, in order', async () => {
    const f = await proxy();
    const ws = await open(f, `/${f.target}/ws`);
    const count = 40;
    const size = 256 * 1024;
    const received: number[] = [];
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        received.push(data.length === size ? (data[0] ?? -1) : -1);
        if (received.length === count) resolve();
      });
    });
    for (let i = 0; i < count; i++) ws.send(Buffer.alloc(size, i));
    await done;
    expect(received).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it("passes the upstream's close code and reason to the client", async () => {
    const f = await proxy();
    const ws = await open(f, `/${f.target}/ws`);
    ws.send('close:4001:bye from upstream');
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    expect(code).toBe(4001);
    expect(reason.toString()).toBe('bye from upstream');
  });

  it("passes the client's close code and reason to the upstream, and logs the websocket", async () => {
    const f = await proxy();
    const ws = await open(f, `/${f.target}/ws`);
    const closes = upstream.wsCloses.length;
    ws.close(4002, 'bye from client');
    await once(ws, 'close');
    while (upstream.wsCloses.length === closes) await once(upstream.events, 'ws-close');
    expect(upstream.wsCloses.at(-1)).toEqual({ code: 4002, reason: 'bye from client' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = f.logs.find(
      (l) => l.fields['event'] === 'proxy.access' && l.fields['websocket'] === true,
    );
    expect(line?.fields).toMatchObject({
      status: 101,
      upstream: f.target,
      closeCodes: { client: 4002, upstream: 4002 },
    });
    expect(await f.registry.metrics()).toContain('cloudproxy_proxy_websockets_open 0');
  });

  it('refuses an upgrade to a host that is not allowlisted (403 JSON)', async () => {
    const f = await proxy();
    const answer = await refused(f, `/evilupstream.test:${upstream.port}/ws`);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'host-not-allowed' } });
  });

  it('refuses an upgrade to a loopback upstream without allowPrivateUpstream', async () => {
    const f = await proxy({ allowPrivateUpstream: [] });
    const byLiteral = await refused(f, `/${f.target}/ws`);
    expect(JSON.parse(byLiteral.body)).toMatchObject({ error: { code: 'private-address' } });
    const byName = await refused(f, `/a.upstream.test:${upstream.port}/ws`);
    expect(byName.status).toBe(403);
    expect(JSON.parse(byName.body)).toMatchObject({ error: { code: 'private-address' } });
  });

  it("passes the upstream's refusal of the handshake to the client", async () => {
    const f = await proxy();
    const answer = await refused(f, `/${f.target}/ws-refuse`);
    expect(answer.status).toBe(403);
  });

  it('caps the number of open websockets (503)', async () => {
    const f = await proxy({ limits: { maxWebSockets: 1 } });
    await open(f, `/${f.target}/ws`);
    const answer = await refused(f, `/${f.target}/ws`);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'too-many-connections' } });
  });

  it('closes open websockets with 1001 when the proxy closes', async () => {
    const f = await proxy();
    const ws = await open(f, `/${f.target}/ws`);
    const closed = once(ws, 'close');
    await f.server.proxy.close();
    const [code] = (await closed) as [number];
    expect(code).toBe(1001);
  });
});
