/**
 * The HTTPS surface of a cloudproxy node (ARCHITECTURE.md, "HTTP surface"): one listener that
 * routes `/api/v1/…`, `/console`, `/diagnostics`, `/healthz`, `/readyz` to the control plane,
 * `/metrics` to Prometheus, and `/{upstream-host}/{path}` (the first segment contains a dot or
 * is an IP literal) to the signaling proxy, WebSocket upgrades included; over HTTP/1.1 and
 * HTTP/2, on the same port as TURN over TLS (one-port-listener.ts).
 * @module
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { TransportAddress } from '@cloudproxy/stun';
import type { ProxySources } from '@cloudproxy/turn/node';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { asHttp1Exchange } from './h2-compat.js';
import { OnePortListener } from './one-port-listener.js';
import type { NativePortTls, PortCertificates } from './one-port-listener.js';

/** The parts the surface routes to. */
export interface SurfaceParts {
  /** Control plane: returns true when it took the request. */
  readonly control: {
    handle(req: IncomingMessage, res: ServerResponse): boolean;
    /** Whether a bearer token is the admin token (may read /metrics from anywhere). */
    isAdminToken(token: string): boolean;
  };
  /** Signaling proxy (connect-style middleware with upgrade support). */
  readonly proxy: {
    (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
    isProxyPath(url: string): boolean;
  };
  readonly registry: Registry;
  /** Extra static routes (path → handler), e.g. the client SDK bundle. */
  readonly routes?: ReadonlyMap<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** Extra WebSocket endpoints (path → upgrade handler), e.g. the demo call's room service. */
  readonly upgrades?: ReadonlyMap<
    string,
    (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  >;
}

/** The running HTTPS listener. */
export interface HttpsSurface {
  /** The TCP listener of the shared port. */
  readonly server: net.Server;
  readonly address: AddressInfo;
  readonly stats: SurfaceStats;
  /** Replaces the certificates for new connections (SIGHUP); live ones keep theirs. */
  setCertificates(certificates: PortCertificates): void;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function isLoopback(address: string | undefined): boolean {
  return (
    address !== undefined &&
    (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'))
  );
}

/** Whether the request carries the admin token. */
function hasAdminToken(parts: SurfaceParts, req: IncomingMessage): boolean {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') && parts.control.isAdminToken(header.slice(7));
}

async function serveMetrics(parts: SurfaceParts, req: IncomingMessage, res: ServerResponse) {
  if (!isLoopback(req.socket.remoteAddress) && !hasAdminToken(parts, req)) {
    res.setHeader('www-authenticate', 'Bearer realm="cloudproxy"');
    sendJson(res, 401, {
      error: { code: 'unauthorized', message: 'metrics need the admin token' },
    });
    return;
  }
  const text = await parts.registry.metrics();
  res.writeHead(200, { 'content-type': parts.registry.contentType });
  res.end(text);
}

/** Routes one request; exported for tests. */
export function route(parts: SurfaceParts, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const pathname = url.split('?', 1)[0] ?? '/';
  const extra = parts.routes?.get(pathname);
  if (extra) {
    extra(req, res);
    return;
  }
  if (pathname === '/metrics') {
    serveMetrics(parts, req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'metrics' } });
    });
    return;
  }
  if (pathname === '/') {
    res.writeHead(302, { location: '/console' });
    res.end();
    return;
  }
  if (parts.control.handle(req, res)) return;
  if (parts.proxy.isProxyPath(url)) {
    parts.proxy(req, res);
    return;
  }
  sendJson(res, 404, {
    error: { code: 'not-found', message: `no route for ${pathname}` },
  });
}

/** Where and how the surface listens. */
export interface HttpsListenOptions {
  readonly host: string;
  /** Port 0 picks a free one. */
  readonly port: number;
  readonly certificates: PortCertificates;
  /** TURN over TLS on this port (the relay's `acceptStream`); absent: HTTPS only. */
  readonly turn?: ((socket: TLSSocket, remote: TransportAddress | undefined) => void) | undefined;
  /** With `turn`: the native data plane's TLS terminator for TURN clients (OnePortListener). */
  readonly native?: NativePortTls | undefined;
  /** Load balancers whose connections start with a PROXY protocol header. */
  readonly proxySources?: ProxySources | undefined;
}

/** Connections of the HTTPS port, counted by how they were routed or why they were dropped. */
export interface SurfaceStats {
  /** `turn/alpn`, `h2/alpn`, `http/1.1/peek`, … */
  readonly routed: ReadonlyMap<string, number>;
  /** `tls-handshake`, `unknown-bytes`, `peek-timeout`, `proxy-protocol`, `wrong-role`. */
  readonly dropped: ReadonlyMap<string, number>;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The HTTP/1.1 server of the surface, fed TLS sockets by the one-port listener. */
function createHttp1(parts: SurfaceParts): http.Server {
  const server = http.createServer({
    requestTimeout: 60_000,
    headersTimeout: 15_000,
    maxHeaderSize: 16_384,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(parts, req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const extra = parts.upgrades?.get(pathname);
    if (extra) extra(req, socket, head);
    else if (parts.proxy.isProxyPath(req.url ?? '/')) parts.proxy.handleUpgrade(req, socket, head);
    else {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
  });
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // The server never listens itself; 'listening' starts its checks of header and request
  // timeouts (and the connection list closeIdleConnections() uses).
  server.emit('listening');
  return server;
}

/** The HTTP/2 server of the surface; requests reach the same routes as HTTP/1.1 ones. */
function createH2(parts: SurfaceParts): { server: http2.Http2Server; sessions: Set<Http2Session> } {
  const server = http2.createServer({ maxSessionMemory: 16 });
  const sessions = new Set<Http2Session>();
  server.setTimeout(H2_IDLE_TIMEOUT_MS);
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('request', (h2req: Http2ServerRequest, h2res: Http2ServerResponse) => {
    const { req, res } = asHttp1Exchange(h2req, h2res);
    route(parts, req, res);
  });
  return { server, sessions };
}

/** Idle HTTP/2 sessions are closed after this long. */
const H2_IDLE_TIMEOUT_MS = 120_000;

/** Exports the connection counts of the HTTPS port (prefix `cloudproxy_https_`). */
function registerSurfaceMetrics(
  registry: Registry,
  routed: ReadonlyMap<string, number>,
  dropped: ReadonlyMap<string, number>,
): void {
  new Counter({
    name: 'cloudproxy_https_connections_routed_total',
    help: 'Connections of the HTTPS port by role (turn, h2, http/1.1) and how it was chosen (alpn, peek, sni)',
    labelNames: ['role', 'by'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of routed) {
        const at = key.lastIndexOf('/');
        this.inc({ role: key.slice(0, at), by: key.slice(at + 1) }, n);
      }
    },
  });
  new Counter({
    name: 'cloudproxy_https_connections_dropped_total',
    help: 'Connections of the HTTPS port dropped before routing, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of dropped) this.inc({ reason }, n);
    },
  });
}

/**
 * Starts the HTTPS surface on `host:port`: one TLS listener for HTTP/1.1 (WebSocket upgrades
 * included), HTTP/2 and, with `options.turn`, TURN over TLS (see {@link OnePortListener}).
 */
export async function listenHttps(
  parts: SurfaceParts,
  options: HttpsListenOptions,
): Promise<HttpsSurface> {
  const http1 = createHttp1(parts);
  const h2 = createH2(parts);
  const routed = new Map<string, number>();
  const dropped = new Map<string, number>();
  registerSurfaceMetrics(parts.registry, routed, dropped);
  const listener = new OnePortListener(
    { certificates: options.certificates, proxySources: options.proxySources },
    {
      turn: options.turn,
      native: options.native,
      http1: (socket) => http1.emit('connection', socket),
      h2: (socket) => h2.server.emit('connection', socket),
      onRouted: (protocol, how) => {
        increment(routed, `${protocol}/${how}`);
      },
      onDropped: (reason) => {
        increment(dropped, reason);
      },
    },
  );
  const address = await listener.listen(options.host, options.port);
  return {
    server: listener.server,
    address,
    stats: { routed, dropped },
    setCertificates: (certificates) => {
      listener.setCertificates(certificates);
    },
    close: async () => {
      const closed = listener.close();
      http1.close();
      for (const session of h2.sessions) session.close();
      await closed;
    },
  };
}
