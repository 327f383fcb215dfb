/**
 * The one narrow proxy rule the demo call needs: pages open the room service through the
 * node's signaling proxy (`wss://NODE/{self}/demo/signal`), so the proxy must dial the node
 * itself. Instead of widening the proxy the operator configured (whose `allowPorts`,
 * `allowPrivateUpstream` and `upstreamCa` apply to every allowed host), a second, internal proxy
 * serves exactly those paths:
 *
 * - `allowHosts`: only the node's own upstream name (`upstreamHost`);
 * - `allowPorts`: only the node's HTTPS port;
 * - `allowPrivateUpstream`: only the address it dials (`/32` or `/128`), which its `lookup`
 *   returns for `upstreamHost` (and nothing else);
 * - `upstreamCa`: the node's certificate. The proxy adds it to the system CAs (it does not
 *   replace them), which changes nothing here since this proxy reaches no other upstream.
 *
 * Every other proxy path stays with the operator's proxy. Both count in the same registry
 * (`cloudproxy_proxy_*`).
 * @module
 */
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createSignalingProxy } from '@cloudproxy/proxy';
import type { ProxyLogger, SignalingProxy } from '@cloudproxy/proxy';
import type { Registry } from 'prom-client';

/** Where the node's room service is, as the internal proxy dials it. */
export interface SelfUpstream {
  /** The host in the proxy path: the node's public name, or the address it dials. */
  readonly host: string;
  /** The IP address the proxy connects to (the HTTPS listener's, or 127.0.0.1). */
  readonly dialAddress: string;
  /** The HTTPS port. */
  readonly port: number;
}

/** The proxy shape of the HTTPS surface (a middleware with upgrades). */
export interface SurfaceProxy {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  isProxyPath(url: string): boolean;
}

/** `host:port` with IPv6 literals bracketed. */
function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The proxy path of the room service: `/{host:port}/demo/signal`. */
export function signalProxyPath(upstream: SelfUpstream): string {
  return `/${hostPort(upstream.host, upstream.port)}/demo/signal`;
}

/** Whether a request target is the room service's proxy path (query allowed, nothing more). */
function isSignalProxyPath(url: string, path: string): boolean {
  return url === path || url.startsWith(`${path}?`);
}

/** Creates the internal proxy that may reach only `upstream`. */
export function createSelfProxy(
  upstream: SelfUpstream,
  certPem: string,
  observe: { logger?: ProxyLogger | undefined; registry?: Registry | undefined },
): SignalingProxy {
  const family = net.isIPv6(upstream.dialAddress) ? 6 : 4;
  const bits = family === 6 ? 128 : 32;
  return createSignalingProxy({
    allowHosts: [upstream.host],
    allowPorts: [upstream.port],
    allowPrivateUpstream: [`${upstream.dialAddress}/${bits}`],
    upstreamCa: certPem,
    lookup: (hostname) =>
      hostname.toLowerCase() === upstream.host.toLowerCase()
        ? Promise.resolve([{ address: upstream.dialAddress, family }])
        : Promise.reject(new Error(`${hostname} is not this node`)),
    logger: observe.logger,
    registry: observe.registry,
  });
}

/**
 * The surface's proxy: the room service's path goes to `self()` (when it exists), every other
 * proxy path to `main`.
 */
export function routeSelfProxy(
  main: SurfaceProxy,
  self: () => { proxy: SurfaceProxy; path: string } | undefined,
): SurfaceProxy {
  const pick = (url: string | undefined): SurfaceProxy => {
    const current = self();
    return current && isSignalProxyPath(url ?? '', current.path) ? current.proxy : main;
  };
  const handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => {
    pick(req.url)(req, res, next);
  };
  return Object.assign(handler, {
    handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      pick(req.url).handleUpgrade(req, socket, head);
    },
    isProxyPath: (url: string) => main.isProxyPath(url) || pick(url) !== main,
  });
}
