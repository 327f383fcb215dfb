/**
 * The HTTPS surface of a cloudproxy node (ARCHITECTURE.md, "HTTP surface"): one listener that
 * routes `/api/v1/…`, `/console`, `/diagnostics`, `/healthz`, `/readyz` to the control plane,
 * `/metrics` to Prometheus, and `/{upstream-host}/{path}` (the first segment contains a dot or
 * is an IP literal) to the signaling proxy, WebSocket upgrades included.
 * @module
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';

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
}

/** The running HTTPS listener. */
export interface HttpsSurface {
  readonly server: https.Server;
  readonly address: AddressInfo;
  setCertificate(cert: string, key: string): void;
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

/** Starts the HTTPS listener on `host:port` (port 0 picks a free one). */
export async function listenHttps(
  parts: SurfaceParts,
  tls: { cert: string; key: string },
  host: string,
  port: number,
): Promise<HttpsSurface> {
  const server = https.createServer({
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2',
    ALPNProtocols: ['http/1.1'],
    requestTimeout: 60_000,
    headersTimeout: 15_000,
    maxHeaderSize: 16_384,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(parts, req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (parts.proxy.isProxyPath(req.url ?? '/')) parts.proxy.handleUpgrade(req, socket, head);
    else {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
  });
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    setCertificate: (cert, key) => {
      server.setSecureContext({ cert, key, minVersion: 'TLSv1.2' });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
