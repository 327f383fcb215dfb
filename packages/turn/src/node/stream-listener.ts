/**
 * StreamListener: a TURN listener over TCP or TLS. It accepts connections (reading a PROXY
 * protocol header first from configured load balancers, terminating TLS when configured) and
 * hands each one to its {@link StreamConnections}, which serves the TURN client.
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TransportAddress } from '@cloudproxy/stun';
import type { TurnServerCore } from '../server-core.js';
import { proxiedClient, readProxyHeader } from './proxy-protocol-reader.js';
import type { ProxySources } from './proxy-protocol-reader.js';
import { StreamConnections } from './stream-connections.js';
import type { NativeStreams } from './native-streams.js';
import type { StreamConnectionsOptions, StreamDropReason } from './stream-connections.js';
import type { ActionRunner } from './udp-listener.js';
import { withTlsPolicy } from './tls-policy.js';

/** TLS handshakes that take longer are abandoned. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options of a TCP or TLS listener. */
export interface StreamListenerOptions {
  readonly id: number;
  readonly core: TurnServerCore;
  readonly run: ActionRunner;
  /** TLS context options; plain TCP when absent. */
  readonly tls?: tls.SecureContextOptions | undefined;
  readonly maxConnections: number;
  /** Close a connection that has no allocation after this long idle. */
  readonly idleTimeoutMs: number;
  /** Called for every stream error, malformed frame or refused connection (counted by the server). */
  readonly onDropped: (reason: StreamDropReason) => void;
  /** Load balancers whose connections start with a PROXY protocol header. */
  readonly proxySources?: ProxySources | undefined;
  /** The HTTPS port named in the answer to an HTTP request, if the node has one. */
  readonly httpsPort?: (() => number | undefined) | undefined;
  /**
   * The native data plane's stream clients, when it runs: TCP connections are handed over after
   * their first bytes, TLS ones before the handshake (the addon terminates TLS).
   */
  readonly native?: StreamConnectionsOptions['native'];
}

/** StreamListener owns one TCP or TLS listening socket. */
export class StreamListener {
  readonly server: net.Server;
  readonly transport: 'tcp' | 'tls';
  readonly #options: StreamListenerOptions;
  readonly #connections: StreamConnections;
  /** Terminates TLS for the accepted sockets; it never listens itself. */
  readonly #tls: tls.Server | undefined;
  /** Real clients of proxied TLS connections, by the load balancer's `address|port`. */
  readonly #proxied = new Map<string, TransportAddress>();
  /** The certificate and key of this TLS listener (the latest, after reloads). */
  #context: tls.SecureContextOptions | undefined;
  /** The same, as the native data plane's TLS context; 'failed' when the addon refused them. */
  #nativeTls: { id: number; streams: NativeStreams } | 'failed' | undefined;

  constructor(options: StreamListenerOptions) {
    this.#options = options;
    this.transport = options.tls ? 'tls' : 'tcp';
    this.#connections = new StreamConnections({
      id: options.id,
      core: options.core,
      run: options.run,
      idleTimeoutMs: options.idleTimeoutMs,
      onDropped: options.onDropped,
      httpsPort: options.httpsPort,
      native: options.native,
    });
    this.#tls = options.tls ? this.#tlsServer(options.tls) : undefined;
    this.#context = options.tls;
    this.server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
      this.#onConnection(socket);
    });
    this.server.maxConnections = options.maxConnections;
    this.server.on('drop', () => {
      options.onDropped('connection-limit');
    });
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.count;
  }

  /** Starts listening on `address:port`. */
  listen(address: string, port: number): Promise<TransportAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: address, port, ipv6Only: address.includes(':') }, () => {
        this.server.off('error', reject);
        const bound = this.server.address() as net.AddressInfo;
        resolve({
          family: bound.family === 'IPv6' ? 6 : 4,
          address: bound.address,
          port: bound.port,
        });
      });
    });
  }

  /** Replaces the TLS certificate for new connections (SIGHUP); live ones keep theirs. */
  setSecureContext(context: tls.SecureContextOptions): void {
    this.#tls?.setSecureContext(withTlsPolicy(context));
    this.#context = context;
    if (typeof this.#nativeTls === 'object')
      this.#nativeTls.streams.freeTlsContext(this.#nativeTls.id);
    this.#nativeTls = undefined; // made again from the new files at the next connection
  }

  /** Closes the connection of client `key`, if it is one of this listener's. */
  closeClient(key: string): void {
    this.#connections.closeClient(key);
  }

  /** Stops accepting; with `destroy`, also closes every open connection. */
  close(destroy: boolean): Promise<void> {
    if (destroy) this.#connections.destroyAll();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  /**
   * The native data plane's TLS context for this listener, made on first use (the plane starts
   * after the listeners are made); undefined without a native plane, or when the addon cannot
   * use the certificate or key (Node's TLS server then serves every client).
   */
  #nativeTlsContext(): number | undefined {
    if (this.#nativeTls === undefined) {
      const streams = this.#options.native?.();
      const { cert, key } = this.#context ?? {};
      if (!streams || !Buffer.isBuffer(cert) || !Buffer.isBuffer(key)) return undefined;
      try {
        this.#nativeTls = { id: streams.tlsContext(cert, key), streams };
      } catch {
        this.#nativeTls = 'failed';
      }
    }
    return typeof this.#nativeTls === 'object' ? this.#nativeTls.id : undefined;
  }

  #tlsServer(context: tls.SecureContextOptions): tls.Server {
    const server = tls.createServer({
      ...withTlsPolicy(context),
      // RFC 7443: "stun.turn". Clients that offer other protocols, or none, are served too.
      ALPNCallback: ({ protocols }) => (protocols.includes('stun.turn') ? 'stun.turn' : undefined),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const key = `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
      const remote = this.#proxied.get(key);
      this.#proxied.delete(key);
      this.#connections.accept(socket, 'tls', remote);
    });
    server.on('tlsClientError', () => {
      this.#options.onDropped('malformed');
    });
    return server;
  }

  #onConnection(socket: net.Socket): void {
    // The server's own count misses connections handed over to the native data plane.
    if (this.#connections.count >= this.#options.maxConnections) {
      this.#options.onDropped('connection-limit');
      socket.destroy();
      return;
    }
    if (this.#options.proxySources?.has(socket.remoteAddress) !== true) {
      this.#serve(socket, undefined);
      return;
    }
    socket.on('error', () => undefined); // a reset during the header; 'close' follows
    readProxyHeader(socket).then(
      (header) => {
        this.#serve(socket, proxiedClient(header));
      },
      () => {
        this.#options.onDropped('proxy-protocol');
        socket.destroy();
      },
    );
  }

  #serve(socket: net.Socket, remote: TransportAddress | undefined): void {
    if (this.#tls === undefined) {
      this.#connections.accept(socket, 'tcp', remote);
      return;
    }
    const context = this.#nativeTlsContext();
    if (context !== undefined && this.#connections.handOverTls(socket, remote, context)) return;
    if (remote !== undefined) {
      const key = `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
      this.#proxied.set(key, remote);
      socket.once('close', () => this.#proxied.delete(key));
    }
    this.#tls.emit('connection', socket);
  }
}
