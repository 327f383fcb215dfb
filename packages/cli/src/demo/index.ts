/**
 * The demo call of `cloudproxy start` (`/demo`): the parts the node adds to its HTTPS surface.
 *
 * - `POST /demo/token` (`token-route.ts`): a client token of the `demo` app for one room and uid;
 * - `/demo/signal` (`signal-server.ts`): the WebSocket room service the page signals through;
 * - the internal proxy (`self-proxy.ts`) through which pages reach that room service, so the
 *   demo's signaling really crosses the signaling proxy.
 *
 * The page itself (`/demo`, `demo.html` and `demo.js`) is a static file of the control plane's
 * web pages. Nothing here is part of the API: it exists to show a first call working.
 * @module
 */
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ControlPlaneApps } from '@cloudproxy/control';
import type { ProxyLogger, SignalingProxy } from '@cloudproxy/proxy';
import type { Registry } from 'prom-client';
import { createSelfProxy, routeSelfProxy, signalProxyPath } from './self-proxy.js';
import type { SelfUpstream, SurfaceProxy } from './self-proxy.js';
import { createDemoSignaling } from './signal-server.js';
import type { DemoSignaling } from './signal-server.js';
import { createTokenRoute } from './token-route.js';

export { createDemoSignaling, DemoCloseCode } from './signal-server.js';
export type { DemoSignaling, DemoSignalingOptions } from './signal-server.js';
export { RoomRegistry } from './rooms.js';
export type { SelfUpstream, SurfaceProxy } from './self-proxy.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The name of the app the demo page's tokens belong to (created by `start`). */
const DEMO_APP_NAME = 'demo';

/** Options of {@link createDemo}. */
export interface DemoOptions {
  readonly apps: Pick<ControlPlaneApps, 'createApp' | 'findAppByName' | 'issueClientToken'>;
  /** The address of the HTTPS listener (`::`/`0.0.0.0` or absent: every address). */
  readonly listenAddress: string | undefined;
  /** `--public-host` when it is a DNS name the certificate covers (else the address is used). */
  readonly publicName: string | undefined;
  /** The node's certificate (PEM), trusted by the internal proxy for the self-hop. */
  readonly certPem: string;
  readonly logger?: ProxyLogger | undefined;
  readonly registry?: Registry | undefined;
}

/** The demo call's parts of a node. */
export interface Demo {
  /** The `demo` app the page's tokens belong to. */
  readonly appId: string;
  /** HTTP routes of the surface: `/demo/token`. */
  readonly routes: ReadonlyMap<string, Handler>;
  /** WebSocket endpoints of the surface: `/demo/signal`. */
  readonly upgrades: ReadonlyMap<string, UpgradeHandler>;
  /** The surface's proxy: `main`, with the room service's proxy path served internally. */
  wrapProxy(main: SurfaceProxy): SurfaceProxy;
  /** Tells the demo the HTTPS port the node listens on (the self-hop needs it). */
  listening(port: number): void;
  /** Trusts a new certificate of the node for the self-hop (after SIGHUP). */
  setCertificate(certPem: string): void;
  /** The room service's proxy path, once listening. */
  readonly signalPath: string | undefined;
  readonly signaling: DemoSignaling;
  /** Closes the room service and the internal proxy. */
  close(): Promise<void>;
}

/** The address the internal proxy dials: the listener's, or loopback for a wildcard listener. */
function dialAddressOf(listenAddress: string | undefined): string {
  if (listenAddress === undefined || listenAddress === '::' || listenAddress === '0.0.0.0')
    return '127.0.0.1';
  return listenAddress;
}

/** Creates the demo's parts; finds or creates the `demo` app. */
export async function createDemo(options: DemoOptions): Promise<Demo> {
  const app =
    (await options.apps.findAppByName(DEMO_APP_NAME)) ??
    (await options.apps.createApp({ name: DEMO_APP_NAME }));
  const dialAddress = dialAddressOf(options.listenAddress);
  const name = options.publicName;
  const host = name !== undefined && net.isIP(name) === 0 ? name : dialAddress;
  let certPem = options.certPem;
  let upstream: SelfUpstream | undefined;
  let current: { proxy: SignalingProxy; path: string } | undefined;
  const retired: SignalingProxy[] = [];
  const rebuild = (): void => {
    if (!upstream) return;
    if (current) retired.push(current.proxy);
    const observe = { logger: options.logger, registry: options.registry };
    current = {
      proxy: createSelfProxy(upstream, certPem, observe),
      path: signalProxyPath(upstream),
    };
  };
  // Connections relayed by the internal proxy come from the address it dials.
  const signaling = createDemoSignaling({ trustForwardedFrom: [dialAddress] });
  const token = createTokenRoute({
    appId: app.appId,
    issueClientToken: (appId, request) => options.apps.issueClientToken(appId, request),
    signalPath: () => current?.path,
    onError: (error) => options.logger?.error({ event: 'demo.token-failed', err: error }, 'demo'),
  });
  return {
    appId: app.appId,
    routes: new Map([['/demo/token', token]]),
    upgrades: new Map([
      [
        '/demo/signal',
        (req: IncomingMessage, socket: Duplex, head: Buffer) => {
          signaling.handleUpgrade(req, socket, head);
        },
      ],
    ]),
    wrapProxy: (main) => routeSelfProxy(main, () => current),
    listening(port) {
      upstream = { host, dialAddress, port };
      rebuild();
    },
    setCertificate(pem) {
      certPem = pem;
      rebuild();
    },
    get signalPath() {
      return current?.path;
    },
    signaling,
    async close() {
      signaling.close();
      await Promise.all([...retired, ...(current ? [current.proxy] : [])].map((p) => p.close()));
    },
  };
}
