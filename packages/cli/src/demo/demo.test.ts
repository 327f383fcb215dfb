/**
 * The demo call's server side on loopback: the room registry, the WebSocket room service and its
 * limits, the token route, and the internal proxy that lets pages reach the room service through
 * the signaling proxy of the same node (and nothing else).
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSignalingProxy } from '@cloudproxy/proxy';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { makeSelfSignedCert } from '../../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../../test/helpers/certs.js';
import { createDemo, DemoCloseCode, RoomRegistry } from './index.js';
import type { Demo } from './index.js';

describe('RoomRegistry', () => {
  const member = (uid: string, inbox: string[]) => ({ uid, send: (t: string) => inbox.push(t) });

  it('tells a newcomer who is there, relays between members and forgets empty rooms', () => {
    const rooms = new RoomRegistry();
    const a: string[] = [];
    const b: string[] = [];
    const alice = member('alice', a);
    const bob = member('bob', b);
    expect(rooms.join('r', alice)).toEqual({ ok: true });
    expect(JSON.parse(a[0]!)).toEqual({ type: 'joined', room: 'r', uid: 'alice', peers: [] });
    expect(rooms.join('r', bob)).toEqual({ ok: true });
    expect(JSON.parse(b[0]!)).toMatchObject({ type: 'joined', peers: ['alice'] });
    expect(JSON.parse(a[1]!)).toEqual({ type: 'peer-joined', uid: 'bob' });
    expect(rooms.relay('r', bob, { sdp: 'x' })).toBe(1);
    expect(JSON.parse(a[2]!)).toEqual({ type: 'signal', from: 'bob', data: { sdp: 'x' } });
    rooms.leave('r', bob);
    expect(JSON.parse(a[3]!)).toEqual({ type: 'peer-left', uid: 'bob' });
    rooms.leave('r', alice);
    expect(rooms.roomCount).toBe(0);
  });

  it('refuses a third member, a taken uid and rooms beyond the limit', () => {
    const rooms = new RoomRegistry({ maxRooms: 1 });
    const inbox: string[] = [];
    rooms.join('r', member('a', inbox));
    expect(rooms.join('r', member('a', inbox))).toEqual({ ok: false, reason: 'uid-taken' });
    rooms.join('r', member('b', inbox));
    expect(rooms.join('r', member('c', inbox))).toEqual({ ok: false, reason: 'room-full' });
    expect(rooms.join('other', member('d', inbox))).toEqual({
      ok: false,
      reason: 'too-many-rooms',
    });
  });
});

let cert: TestCertificate;
let demo: Demo;
let server: https.Server;
let port = 0;
const registry = new Registry();
const issued: { appId: string; channel: string; uid: string }[] = [];

beforeAll(async () => {
  cert = makeSelfSignedCert();
  demo = await createDemo({
    apps: {
      findAppByName: () => Promise.resolve(undefined),
      createApp: (input) =>
        Promise.resolve({
          appId: 'a'.repeat(32),
          name: input.name,
          enabled: true,
          modes: ['auto', 'force-udp', 'force-tcp'],
          regions: [],
          createdAtMs: 0,
          updatedAtMs: 0,
        }),
      issueClientToken: (appId, request) => {
        issued.push({ appId, channel: request.channel, uid: request.uid });
        return Promise.resolve({ token: `cpt.test-${request.uid}`, expiresAt: 'soon' });
      },
    },
    listenAddress: '127.0.0.1',
    publicName: undefined,
    certPem: cert.certPem,
    registry,
  });
  const main = demo.wrapProxy(createSignalingProxy({ allowHosts: [], registry }));
  server = https.createServer({ cert: cert.certPem, key: readFileSync(cert.keyFile, 'utf8') });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const route = demo.routes.get((req.url ?? '/').split('?')[0]!);
    if (route) route(req, res);
    else main(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    const endpoint = demo.upgrades.get((req.url ?? '/').split('?')[0]!);
    if (endpoint) endpoint(req, socket, head);
    else main.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  demo.listening(port);
});

afterAll(async () => {
  await demo.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  cert.cleanup();
});

interface Opened {
  ws: WebSocket;
  inbox: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens the room service through the node's own proxy, as the page does. */
async function open(room: string, uid: string, direct = false): Promise<Opened> {
  const target = direct ? '/demo/signal' : demo.signalPath!;
  const ws = new WebSocket(`wss://127.0.0.1:${port}${target}?room=${room}&uid=${uid}`, {
    ca: cert.certPem,
  });
  const inbox: Record<string, unknown>[] = [];
  ws.on('message', (data: Buffer) => {
    inbox.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  return { ws, inbox, closed };
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !predicate(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
}

describe('the room service through the node proxy', () => {
  it('is reached at /{node}/demo/signal through the proxy and relays signals', async () => {
    expect(demo.signalPath).toBe(`/127.0.0.1:${port}/demo/signal`);
    const a = await open('room1', 'alice');
    const b = await open('room1', 'bob');
    await until(() => a.inbox.length === 2 && b.inbox.length === 1, 'joins');
    expect(b.inbox[0]).toMatchObject({ type: 'joined', peers: ['alice'] });
    b.ws.send(JSON.stringify({ type: 'signal', data: { description: { type: 'offer' } } }));
    await until(() => a.inbox.length === 3, 'relayed offer');
    expect(a.inbox[2]).toEqual({
      type: 'signal',
      from: 'bob',
      data: { description: { type: 'offer' } },
    });
    const metrics = await registry.getSingleMetricAsString('cloudproxy_proxy_requests_total');
    expect(metrics).toMatch(/kind="websocket"/);
    const c = await open('room1', 'carol');
    expect(await c.closed).toEqual({ code: DemoCloseCode.Refused, reason: 'room-full' });
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
    await until(() => demo.signaling.rooms.roomCount === 0, 'empty room deleted');
  });

  it('closes on a malformed message (4400) and on an oversized one (1009)', async () => {
    const a = await open('room2', 'alice');
    a.ws.send('not json');
    expect((await a.closed).code).toBe(DemoCloseCode.BadMessage);
    const b = await open('room2', 'bob');
    b.ws.send(JSON.stringify({ type: 'signal', data: 'x'.repeat(70_000) }));
    expect((await b.closed).code).toBe(1009);
  });

  it('closes a connection that sends faster than the rate limit (4429)', async () => {
    const a = await open('room3', 'alice');
    for (let i = 0; i < 200; i++) a.ws.send(JSON.stringify({ type: 'signal', data: i }));
    expect(await a.closed).toEqual({ code: DemoCloseCode.RateLimited, reason: 'rate-limited' });
  });

  it('the internal proxy reaches only the room service: other node paths stay refused', async () => {
    const answer = await fetchText(`/127.0.0.1:${port}/demo/token`, 'POST', '{}');
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('host-not-allowed');
  });
});

describe('POST /demo/token', () => {
  it('issues a client token of the demo app for channel demo-<room>', async () => {
    const answer = await fetchText('/demo/token', 'POST', '{"room":"r-1","uid":"u_1"}');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      appId: 'a'.repeat(32),
      token: 'cpt.test-u_1',
      expiresAt: 'soon',
      channel: 'demo-r-1',
      uid: 'u_1',
      credentialsPath: `/api/v1/apps/${'a'.repeat(32)}/credentials`,
      signalPath: `/127.0.0.1:${port}/demo/signal`,
    });
  });

  it.each([
    ['{"room":"bad room","uid":"u"}', 'room: '],
    ['{"room":"r","uid":""}', 'uid: '],
    ['[]', 'room: '],
    ['nope', 'body: not JSON'],
  ])('refuses %s with 400', async (body, detail) => {
    const answer = await fetchText('/demo/token', 'POST', body);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain(detail);
  });

  it('refuses GET (405) and more than 30 tokens a minute per client (429)', async () => {
    expect((await fetchText('/demo/token', 'GET')).status).toBe(405);
    let last = 0;
    for (let i = 0; i < 35 && last !== 429; i++) {
      last = (await fetchText('/demo/token', 'POST', '{"room":"r","uid":"u"}')).status;
    }
    expect(last).toBe(429);
  });
});

function fetchText(
  urlPath: string,
  method: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: urlPath, method, ca: cert.certPem },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
