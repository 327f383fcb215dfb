/**
 * One TCP port for everything: a real `cloudproxy start`, and on its HTTPS port at the same
 * time Chromium relays media with `turns:127.0.0.1:PORT?transport=tcp` (force-tcp credentials
 * from the API), coturn's `turnutils_uclient -S` relays to an echo peer, the signaling proxy
 * serves a request and a WebSocket, the console loads (HTTP/2 in Chromium), the API answers over
 * HTTP/2 and HTTP/1.1, and garbage on the port is dropped without affecting the others. Plain
 * HTTP on the TURN TCP port gets a clear refusal.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spkiSha256 } from '../helpers/certs.js';
import { launchChromium, servePage } from '../helpers/chromium.js';
import type { ChromiumHandle, PageServer } from '../helpers/chromium.js';
import { startSystem } from '../helpers/cloudproxy-start.js';
import type { StartedSystem } from '../helpers/cloudproxy-start.js';
import { describeRun, runUclient, startEchoPeer } from '../helpers/coturn-tools.js';
import type { EchoPeer } from '../helpers/coturn-tools.js';
import { startHttpsUpstream } from '../helpers/https-upstream.js';
import type { HttpsUpstream } from '../helpers/https-upstream.js';

interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

interface RelayCallResult {
  ok: boolean;
  error?: string;
  received?: { pc1: number; pc2: number };
  stats?: { pc1: { local?: { candidateType?: string; relayProtocol?: string; url?: string } } };
}

const cleanups: (() => unknown)[] = [];
let system: StartedSystem;
let peer: EchoPeer;
let upstream: HttpsUpstream;
let browser: ChromiumHandle;
let pageServer: PageServer;
let page: Page;
let ice: IceServer;

beforeAll(async () => {
  peer = await startEchoPeer();
  cleanups.push(() => peer.stop());
  upstream = await startHttpsUpstream();
  cleanups.push(() => upstream.close());
  const dir = mkdtempSync(path.join(tmpdir(), 'one-port-'));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const config = path.join(dir, 'cloudproxy.yaml');
  writeFileSync(
    config,
    [
      'proxy:',
      "  allowHosts: ['localhost']",
      "  allowPrivateUpstream: ['127.0.0.0/8']",
      `  allowPorts: [${upstream.port}]`,
      `  upstreamCa: ${JSON.stringify(upstream.pki.caFile)}`,
      '',
    ].join('\n'),
  );
  system = await startSystem({ extraArgs: ['--config', config] });
  cleanups.push(() => system.cleanup());
  const app = await system.api('POST', '/api/v1/apps', {
    token: system.adminToken,
    body: { name: 'one-port' },
  });
  const appId = (app.json as { appId: string }).appId;
  const key = await system.api('POST', `/api/v1/apps/${appId}/keys`, { token: system.adminToken });
  const credentials = await system.api('POST', `/api/v1/apps/${appId}/credentials`, {
    token: (key.json as { key: string }).key,
    body: { channel: 'room', uid: 'u1', ttl: 600, mode: 'force-tcp' },
  });
  ice = (credentials.json as { iceServers: IceServer[] }).iceServers[0]!;
  const html = readFileSync(path.join(REPO_TEST_DIR, 'browser/relay-page.html'), 'utf8');
  pageServer = await servePage(html);
  cleanups.push(() => pageServer.close());
  browser = await launchChromium({ trustSpki: [spkiSha256(system.certPem)] });
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
  await page.goto(pageServer.url, { timeout: 15_000 });
}, 90_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch {
      // keep cleaning up
    }
  }
});

const REPO_TEST_DIR = path.resolve(import.meta.dirname, '..');

/** Chromium relay-only call through the credentials' TURN URL. */
function chromiumCall(): Promise<RelayCallResult> {
  const cfg = {
    iceServers: [{ urls: ice.urls[0], username: ice.username, credential: ice.credential }],
    timeoutMs: 30_000,
    burst: 20,
    size: 1000,
    settleMs: 3000,
  };
  return page.evaluate<RelayCallResult>(`relayCall(${JSON.stringify(cfg)})`);
}

/** The console in Chromium (which offers h2): the HTTP status of the page. */
async function consoleInChromium(): Promise<{ status: number; protocol: string }> {
  const tab = await browser.context.newPage();
  try {
    const response = await tab.goto(`${system.baseUrl}/console`, { timeout: 15_000 });
    const protocol = await tab.evaluate(
      '(performance.getEntriesByType("navigation")[0] || {}).nextHopProtocol || ""',
    );
    return { status: response?.status() ?? 0, protocol: String(protocol) };
  } finally {
    await tab.close();
  }
}

/** One HTTP/2 GET with node:http2. */
function h2Get(urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(system.baseUrl, { ca: system.certPem });
    session.on('error', reject);
    const req = session.request({ ':path': urlPath });
    let status = 0;
    let body = '';
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      session.close();
      resolve({ status, body });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket through the signaling proxy: sends one message and returns the echo. */
function proxiedWebSocket(): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${system.httpsPort}/localhost:${upstream.port}/ws`, {
      ca: system.certPem,
    });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('websocket timeout'));
    }, 10_000);
    ws.on('open', () => ws.send('one port'));
    ws.on('message', (data: Buffer) => {
      clearTimeout(timer);
      ws.close();
      resolve(data.toString('utf8'));
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Writes `bytes` (after a TLS handshake without ALPN when `overTls`) and waits for the close. */
function garbage(bytes: Buffer, overTls: boolean): Promise<'closed'> {
  return new Promise((resolve, reject) => {
    const socket = overTls
      ? tls.connect({ port: system.httpsPort, host: '127.0.0.1', ca: system.certPem })
      : net.connect(system.httpsPort, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('garbage connection was not closed in 15 s'));
    }, 15_000);
    socket.once(overTls ? 'secureConnect' : 'connect', () => socket.write(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

describe('one port for TURN over TLS, the signaling proxy, the API and the console', () => {
  it('issues force-tcp credentials for the HTTPS port', () => {
    expect(ice.urls).toEqual([`turns:127.0.0.1:${system.httpsPort}?transport=tcp`]);
  });

  it('serves everything at the same time on the HTTPS port', async () => {
    const [call, uclient, proxied, ws, consolePage, h2Api, h2Proxied, h1Api, junk, junkTls] =
      await Promise.all([
        chromiumCall(),
        runUclient({
          host: '127.0.0.1',
          port: system.httpsPort,
          transport: 'tls',
          peer: { host: '127.0.0.1', port: peer.port },
          user: { name: ice.username, password: ice.credential },
          clients: 2,
          messages: 20,
          length: 200,
        }),
        system.api('GET', `/localhost:${upstream.port}/hello?x=1`),
        proxiedWebSocket(),
        consoleInChromium(),
        h2Get('/api/v1/openapi.json'),
        h2Get(`/localhost:${upstream.port}/over-h2`),
        system.api('GET', '/api/v1/openapi.json'),
        garbage(Buffer.from('\x16\x03\x01garbage that is not a TLS record at all\r\n'), false),
        garbage(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]), true),
      ]);
    const why = `${JSON.stringify(call, null, 2)}\n${system.output().slice(-3000)}`;
    expect(call.ok, why).toBe(true);
    expect(call.received, why).toEqual({ pc1: 20, pc2: 20 });
    expect(call.stats?.pc1.local?.candidateType, why).toBe('relay');
    expect(call.stats?.pc1.local?.relayProtocol, why).toBe('tls');
    if (call.stats?.pc1.local?.url !== undefined)
      expect(call.stats.pc1.local.url).toContain(`:${system.httpsPort}`);

    expect(uclient.summary?.received, describeRun(uclient)).toBe(40);

    expect(proxied.status, proxied.text).toBe(200);
    const echoed = proxied.json as { url: string; headers: Record<string, string> };
    expect(echoed.url).toBe('/hello?x=1');
    expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(ws).toBe('one port');

    expect(consolePage.status).toBe(200);
    expect(consolePage.protocol).toBe('h2');
    expect(h2Api.status).toBe(200);
    expect(JSON.parse(h2Api.body)).toHaveProperty('openapi');
    expect(h2Proxied.status, h2Proxied.body).toBe(200);
    const overH2 = JSON.parse(h2Proxied.body) as { url: string; headers: Record<string, string> };
    expect(overH2.url).toBe('/over-h2');
    expect(overH2.headers['host']).toBe(`localhost:${upstream.port}`);
    expect(Object.keys(overH2.headers).filter((name) => name.startsWith(':'))).toEqual([]);
    expect(h1Api.status).toBe(200);

    expect(junk).toBe('closed');
    expect(junkTls).toBe('closed');

    // Who served what: the TURN clients (Chromium offers no ALPN, uclient offers stun.turn) and
    // Node's HTTPS client (no ALPN either) went to the native data plane, which terminated their
    // TLS; the HTTP requests among them were piped to the HTTP server. Chromium's console and
    // the HTTP/2 client offered h2: Node's TLS server.
    const metrics = (await system.api('GET', '/metrics')).text;
    const count = (line: string): number =>
      Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    expect(
      count('cloudproxy_https_connections_routed_total{role="turn",by="peek"}'),
    ).toBeGreaterThan(0);
    expect(
      count('cloudproxy_https_connections_routed_total{role="turn",by="alpn"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(
      count('cloudproxy_https_connections_routed_total{role="http/1.1",by="peek"}'),
    ).toBeGreaterThan(0);
    expect(count('cloudproxy_https_connections_routed_total{role="h2",by="alpn"}')).toBeGreaterThan(
      0,
    );
    expect(count('cloudproxy_turn_dataplane_streams_total')).toBeGreaterThan(3);
  }, 120_000);

  it('keeps serving after the garbage', async () => {
    expect((await system.api('GET', '/healthz')).status).toBe(200);
  });

  it('answers plain HTTP on the TURN TCP port with a pointer to the HTTPS port', async () => {
    const socket = net.connect(system.turnPort, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('close', resolve));
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain(`use https://127.0.0.1:${system.httpsPort}/`);
  });
});
