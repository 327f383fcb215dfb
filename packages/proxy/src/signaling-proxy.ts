/**
 * createSignalingProxy: the signaling reverse proxy as a connect/Express-style middleware plus
 * an upgrade handler. `/{host[:port]}/{path}?{query}` is forwarded to
 * `https://{host}[:port]/{path}?{query}` when the host is allowlisted.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createClientLimiter } from './client-limits.js';
import { createHttpHandler } from './http-handler.js';
import { createProxyMetrics } from './metrics.js';
import type { SignalingProxyOptions } from './options.js';
import { createProxyPathParser } from './proxy-path.js';
import { resolveProxyOptions } from './resolve-options.js';
import type { ProxyRuntime } from './runtime.js';
import { createUpgradeHandler } from './upgrade-handler.js';
import { createUpstreamAgent } from './upstream-agent.js';

/**
 * SignalingProxy is a connect/Express middleware: it answers proxy paths and calls `next()` for
 * any other path (or answers 404 JSON `not-found` when there is no `next`).
 */
export interface SignalingProxy {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** Handles `server.on('upgrade')` for proxy paths (WebSockets); other paths get 404. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** True if `url` (a request target) is a proxy path, i.e. its first segment names a host. */
  isProxyPath(url: string): boolean;
  /** Closes the upstream pool and every open WebSocket (close code 1001). Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates the signaling proxy. Safe by default: no host is allowed until listed, only port 443,
 * upstream certificates verified, and every upstream connection's address checked against the
 * special-purpose ranges unless `allowPrivateUpstream` opens one.
 * @throws InvalidProxyOptionError for invalid options.
 * @example
 * const proxy = createSignalingProxy({ allowHosts: ['*.example-vendor.com'] });
 * app.use(proxy); // Express or connect
 * server.on('upgrade', (req, socket, head) => {
 *   if (proxy.isProxyPath(req.url ?? '')) proxy.handleUpgrade(req, socket, head);
 * });
 */
export function createSignalingProxy(options: SignalingProxyOptions): SignalingProxy {
  const resolved = resolveProxyOptions(options);
  const { limits } = resolved;
  const rt: ProxyRuntime = {
    options: resolved,
    parsePath: createProxyPathParser(resolved.hosts.isExactName),
    agent: createUpstreamAgent({
      guard: resolved.guard,
      secureContext: resolved.upstreamTls,
      connectTimeoutMs: limits.connectTimeoutMs,
      responseTimeoutMs: limits.responseTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
    }),
    limiter: createClientLimiter({
      requestsPerMinute: limits.requestsPerMinutePerClient,
      maxConcurrent: limits.maxConcurrentPerClient,
    }),
    metrics: createProxyMetrics(resolved.registry),
  };
  const upgrades = createUpgradeHandler(rt);
  let closing: Promise<void> | undefined;
  const proxy: SignalingProxy = Object.assign(createHttpHandler(rt), {
    handleUpgrade: upgrades.handleUpgrade,
    isProxyPath: (url: string) => {
      const parsed = rt.parsePath(url);
      return parsed.ok || parsed.code !== 'not-found';
    },
    close: () => {
      closing ??= (async () => {
        upgrades.close();
        await rt.agent.destroy();
        rt.metrics.close();
      })();
      return closing;
    },
  });
  return proxy;
}
