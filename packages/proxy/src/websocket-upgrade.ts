/**
 * WebSocket upgrades on the proxy path scheme: the upstream WebSocket is opened first (address
 * checked at connect time, certificate verified), and only then is the client's upgrade accepted
 * with the subprotocol the upstream chose; a refused upstream handshake is answered with the
 * upstream's status.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { ClientInfo } from './client-address.js';
import { classifyUpstreamError } from './upstream-errors.js';
import type { ProxyRefusal } from './errors.js';
import { upstreamRequestHeaders } from './forward-headers.js';
import type { UpstreamTarget } from './proxy-path.js';
import { writeRawResponse } from './refusal.js';
import type { ProxyRuntime } from './runtime.js';

import { bridgeWebSockets } from './websocket-bridge.js';
import type { WebSocketBridge } from './websocket-bridge.js';

/** Largest message relayed, either way (ws `maxPayload`). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Largest body of an upstream's refused handshake passed to the client. */
const MAX_REFUSAL_BODY_BYTES = 64 * 1024;

/** One upgrade on its way upstream. */
export interface UpgradeExchange {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly target: UpstreamTarget;
  readonly client: ClientInfo;
  readonly corsHeaders: Readonly<Record<string, string>>;
}

/** Callbacks of {@link proxyWebSocket}: exactly one of `onRefused` / `onOpen`, then `onClosed`. */
export interface UpgradeEvents {
  readonly onRefused: (refusal: ProxyRefusal) => void;
  /** The upstream refused the handshake with an HTTP status (passed to the client). */
  readonly onUpstreamStatus: (status: number) => void;
  readonly onOpen: (bridge: WebSocketBridge) => void;
  readonly onClosed: (info: {
    clientCode: number;
    upstreamCode: number;
    bytesIn: number;
    bytesOut: number;
  }) => void;
}

/** The WebSocket server used only to complete client handshakes (no listening socket). */
export function createUpgradeServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols, req) => {
      const chosen = (req as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol;
      return chosen !== undefined && protocols.has(chosen) ? chosen : false;
    },
  });
}

/** Headers as ws wants them: an object, repeated names joined. */
function headerObject(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = (flat[i] ?? '').toLowerCase();
    const value = flat[i + 1] ?? '';
    const previous = out[name];
    out[name] =
      previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/**
 * Opens the upstream WebSocket for `ex` and, once it is open, completes the client's upgrade
 * and bridges the two.
 */
export function proxyWebSocket(
  rt: ProxyRuntime,
  wss: WebSocketServer,
  ex: UpgradeExchange,
  events: UpgradeEvents,
): void {
  const { options } = rt;
  const { limits } = options;
  const hostname = ex.target.host.hostname;
  if (net.isIP(hostname) !== 0) {
    try {
      options.guard.checkLiteral(hostname, ex.target.authority);
    } catch (error) {
      events.onRefused(classifyUpstreamError(error, ex.target.authority));
      return;
    }
  }
  const protocols = (ex.req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const upstream = new WebSocket(`wss://${ex.target.authority}${ex.target.path}`, protocols, {
    headers: headerObject(
      upstreamRequestHeaders(ex.req.rawHeaders, ex.req.headers, {
        authority: ex.target.authority,
        client: ex.client,
        via: options.via,
        websocket: true,
      }),
    ),
    ...(options.upstreamTls === undefined ? {} : { secureContext: options.upstreamTls }),
    lookup: options.guard.netLookup,
    handshakeTimeout: limits.connectTimeoutMs + limits.responseTimeoutMs,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    followRedirects: false,
    rejectUnauthorized: true,
  });
  let settled = false;
  const onClientGone = (): void => {
    if (!settled) upstream.terminate();
  };
  ex.socket.once('close', onClientGone);
  ex.socket.on('error', onClientGone);
  upstream.once('unexpected-response', (_request, response) => {
    settled = true;
    events.onUpstreamStatus(response.statusCode ?? 502);
    passRefusedHandshake(ex, response);
    upstream.terminate();
  });
  upstream.once('error', (error) => {
    if (settled) return;
    settled = true;
    events.onRefused(classifyUpstreamError(error, ex.target.authority));
  });
  upstream.once('open', () => {
    settled = true;
    ex.socket.off('close', onClientGone);
    if (ex.socket.destroyed) {
      upstream.terminate();
      events.onClosed({ clientCode: 1006, upstreamCode: 1006, bytesIn: 0, bytesOut: 0 });
      return;
    }
    (ex.req as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol =
      upstream.protocol;
    wss.handleUpgrade(ex.req, ex.socket, ex.head, (client) => {
      const bridge = bridgeWebSockets(client, upstream, {
        onClosed: events.onClosed,
        onError: (side, error) => {
          options.logger.debug(
            {
              event: 'proxy.websocket-error',
              side,
              upstream: ex.target.authority,
              error: error.message,
            },
            'websocket error',
          );
        },
      });
      events.onOpen(bridge);
    });
  });
}

/** Answers the client with the status (and a bounded body) of the upstream's refusal. */
function passRefusedHandshake(ex: UpgradeExchange, response: IncomingMessage): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    if (size < MAX_REFUSAL_BODY_BYTES)
      chunks.push(chunk.subarray(0, MAX_REFUSAL_BODY_BYTES - size));
    size += chunk.length;
  });
  const finish = (): void => {
    const contentType = response.headers['content-type'];
    writeRawResponse(
      ex.socket,
      response.statusCode ?? 502,
      { ...ex.corsHeaders, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
      Buffer.concat(chunks),
    );
  };
  response.once('end', finish);
  response.once('error', finish);
}
