/**
 * createProxyServer: the signaling proxy as a standalone HTTPS server.
 * @module
 */
import { once } from 'node:events';
import https from 'node:https';
import type { Socket } from 'node:net';
import { TLS_SERVER_POLICY, withTlsPolicy } from '@cloudproxy/turn/node';
import { Registry } from 'prom-client';
import { errorBody, statusOf } from './errors.js';
import type { ProxyServerOptions, TlsCredentials } from './options.js';
import { DEFAULT_LIMITS } from './resolve-options.js';
import { writeRawResponse } from './refusal.js';
import { createSignalingProxy } from './signaling-proxy.js';
import type { SignalingProxy } from './signaling-proxy.js';

/** A running standalone proxy server. */
export interface ProxyServer {
  /** The bound address and port. */
  address(): { address: string; port: number };
  /** The middleware inside (for tests and embedding). */
  readonly proxy: SignalingProxy;
  /** The registry holding the proxy's metrics (`options.registry`, or one of its own). */
  readonly registry: Registry;
  /** Replaces the certificate for new connections (e.g. on SIGHUP). */
  reloadCertificate(tls: TlsCredentials): void;
  /** Stops accepting, closes WebSockets and the upstream pool, then every connection. Idempotent. */
  close(): Promise<void>;
}

/** Node's default `maxHeaderSize` (16 KiB): the server parser's own bound. */
const NODE_DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/**
 * Starts the proxy on its own HTTPS port. Non-proxy paths get 404 JSON (`not-found`); request
 * heads too large for the parser get 431 JSON (`headers-too-large`).
 * @throws InvalidProxyOptionError for invalid options; rejects if the port cannot be bound.
 * @example
 * const server = await createProxyServer({
 *   listen: { host: '0.0.0.0', port: 443 },
 *   tls: { cert, key },
 *   allowHosts: ['*.example-vendor.com'],
 * });
 */
export async function createProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  const registry = options.registry ?? new Registry();
  const proxy = createSignalingProxy({ ...options, registry });
  const maxHeaderBytes = options.limits?.maxHeaderBytes ?? DEFAULT_LIMITS.maxHeaderBytes;
  const server = https.createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    // The parser's bound stays at least Node's default; the proxy checks its own limit itself.
    maxHeaderSize: Math.max(NODE_DEFAULT_MAX_HEADER_BYTES, maxHeaderBytes + 1024),
    ...TLS_SERVER_POLICY,
  });
  server.on('request', (req, res) => {
    proxy(req, res);
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    proxy.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const code = error.code === 'HPE_HEADER_OVERFLOW' ? 'headers-too-large' : 'bad-path';
    const message =
      code === 'headers-too-large' ? 'request headers are too large' : 'malformed request';
    writeRawResponse(
      socket,
      statusOf(code),
      { 'content-type': 'application/json; charset=utf-8' },
      errorBody(code, message),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 0;
  server.listen(options.listen.port, options.listen.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    await proxy.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    proxy,
    registry,
    address: () => {
      const bound = server.address();
      if (bound === null || typeof bound === 'string')
        return { address: options.listen.host, port: options.listen.port };
      return { address: bound.address, port: bound.port };
    },
    reloadCertificate: (tls) => {
      server.setSecureContext(withTlsPolicy({ cert: tls.cert, key: tls.key }));
    },
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await proxy.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
