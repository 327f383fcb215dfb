/**
 * The upgrade path: route, admit (including the proxy-wide WebSocket cap), open the upstream,
 * bridge, log.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { admitRequest } from './admission.js';
import type { Refused } from './access-log.js';
import { elapsedMs, logAccess, logRefusal } from './access-log.js';
import { NO_CORS_HEADERS } from './cors.js';
import { writeSocketRefusal } from './refusal.js';
import type { ProxyRuntime } from './runtime.js';
import { isUpstreamFailure } from './upstream-errors.js';
import type { WebSocketBridge } from './websocket-bridge.js';
import { createUpgradeServer, proxyWebSocket } from './websocket-upgrade.js';

/** The upgrade side of a proxy: the handler plus what `close()` needs. */
export interface UpgradeHandler {
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Closes every bridged WebSocket with 1001 and refuses new upgrades. */
  readonly close: () => void;
}

/** Creates the upgrade handler of a proxy. */
export function createUpgradeHandler(rt: ProxyRuntime): UpgradeHandler {
  const { options, metrics } = rt;
  const { limits } = options;
  const wss = createUpgradeServer();
  const bridges = new Set<WebSocketBridge>();
  let pending = 0;
  let closed = false;

  const refuse = (
    req: IncomingMessage,
    socket: Duplex,
    refused: Refused,
    cors: Readonly<Record<string, string>>,
    startMs: number,
  ): void => {
    logRefusal(rt, req, refused, startMs);
    const status = writeSocketRefusal(socket, refused.code, refused.message, cors);
    metrics.request('GET', status, elapsedMs(startMs) / 1000, 'websocket');
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const startMs = performance.now();
    const cors = options.cors?.responseHeaders(req.headers.origin) ?? NO_CORS_HEADERS;
    const admission = admitRequest(rt, req, rt.parsePath(req.url ?? '/'));
    if (!admission.ok) {
      refuse(req, socket, admission, cors, startMs);
      return;
    }
    const { target, client } = admission;
    if (closed || bridges.size + pending >= limits.maxWebSockets) {
      rt.limiter.release(client.address);
      const message = closed
        ? 'the proxy is shutting down'
        : `${limits.maxWebSockets} websockets are open`;
      refuse(
        req,
        socket,
        { ok: false, code: 'too-many-connections', message, target, client },
        cors,
        startMs,
      );
      return;
    }
    pending++;
    let bridge: WebSocketBridge | undefined;
    const settle = (): void => {
      pending--;
    };
    proxyWebSocket(
      rt,
      wss,
      { req, socket, head, target, client, corsHeaders: cors },
      {
        onRefused: (refusal) => {
          settle();
          rt.limiter.release(client.address);
          if (isUpstreamFailure(refusal.refusal)) metrics.upstreamError(refusal.refusal);
          refuse(
            req,
            socket,
            { ok: false, code: refusal.refusal, message: refusal.message, target, client },
            cors,
            startMs,
          );
        },
        onUpstreamStatus: (status) => {
          settle();
          rt.limiter.release(client.address);
          metrics.request('GET', status, elapsedMs(startMs) / 1000, 'websocket');
          logAccess(
            rt,
            {
              method: 'GET',
              upstream: target.authority,
              path: target.path,
              status,
              bytesIn: 0,
              bytesOut: 0,
              client: client.address,
              websocket: true,
            },
            startMs,
          );
        },
        onOpen: (opened) => {
          settle();
          bridge = opened;
          bridges.add(opened);
          metrics.websocketOpened(1);
          metrics.request('GET', 101, elapsedMs(startMs) / 1000, 'websocket');
          if (closed) opened.close(1001, 'proxy shutting down');
        },
        onClosed: (info) => {
          if (bridge === undefined) {
            settle();
          } else {
            bridges.delete(bridge);
            metrics.websocketOpened(-1);
          }
          rt.limiter.release(client.address);
          logAccess(
            rt,
            {
              method: 'GET',
              upstream: target.authority,
              path: target.path,
              status: 101,
              bytesIn: info.bytesIn,
              bytesOut: info.bytesOut,
              client: client.address,
              websocket: true,
              closeCodes: { client: info.clientCode, upstream: info.upstreamCode },
            },
            startMs,
          );
        },
      },
    );
  };

  return {
    handleUpgrade,
    close: () => {
      closed = true;
      for (const bridge of bridges) bridge.close(1001, 'proxy shutting down');
      wss.close();
    },
  };
}
