/**
 * OnePortListener: one TCP port, one TLS terminator, three protocols. Each connection is routed
 * after the TLS handshake by its ALPN protocol (`stun.turn` → TURN, `h2` → HTTP/2, `http/1.1` →
 * HTTP/1.1), or, when the client offered none (TURN clients rarely do), by the first decrypted
 * bytes (STUN/ChannelData vs an HTTP request line). SNI picks a certificate and may pin a host
 * name to one role. Connections from configured load balancers start with a PROXY protocol
 * header, read before the handshake.
 *
 * ```
 * TCP ─► [PROXY header?] ─► TLS (SNI, ALPN) ─┬─ stun.turn ─────────────► TURN
 *                                            ├─ h2 ────────────────────► HTTP/2 server
 *                                            ├─ http/1.1 ──────────────► HTTP/1.1 server
 *                                            └─ none ─► first bytes ─┬─► TURN | HTTP/1.1
 *                                                                    └─► closed, counted
 * ```
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TransportAddress } from '@cloudproxy/stun';
import { proxiedClient, readProxyHeader, withTlsPolicy } from '@cloudproxy/turn/node';
import type { ProxySources } from '@cloudproxy/turn/node';
import { classifyFirstBytes } from './first-bytes.js';

/** TLS handshakes that take longer are abandoned. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a client without ALPN may take to send its first bytes. */
const PEEK_TIMEOUT_MS = 10_000;
/** Bytes read to classify a stream; every kind is decided well within them. */
const PEEK_MAX_BYTES = 64;

/** The protocols a TLS connection on the shared port may carry. */
export type PortRole = 'turn' | 'http';

/** A certificate chosen by SNI, optionally pinning its host name to one role. */
export interface SniCertificate {
  /** Host name as the client sends it in SNI (`turn.example.org`); `*.example.org` matches one label. */
  readonly host: string;
  readonly cert: string;
  readonly key: string;
  readonly role?: PortRole | undefined;
}

/** The certificates of the listener: the default pair and the SNI ones. */
export interface PortCertificates {
  readonly cert: string;
  readonly key: string;
  readonly sni?: readonly SniCertificate[] | undefined;
}

/** Why a connection was closed without being served. */
export type PortDropReason =
  'tls-handshake' | 'proxy-protocol' | 'unknown-bytes' | 'peek-timeout' | 'wrong-role';

/** Where routed connections go. */
export interface PortHandlers {
  /** TURN over TLS; absent: the port carries no TURN. `remote`: the client of a PROXY header. */
  readonly turn?:
    ((socket: tls.TLSSocket, remote: TransportAddress | undefined) => void) | undefined;
  readonly http1: (socket: tls.TLSSocket) => void;
  readonly h2: (socket: tls.TLSSocket) => void;
  /** Called for every routed connection, with the protocol it was given to. */
  readonly onRouted?:
    ((protocol: 'turn' | 'h2' | 'http/1.1', how: 'alpn' | 'peek') => void) | undefined;
  readonly onDropped?: ((reason: PortDropReason) => void) | undefined;
}

/** Options of the listener. */
export interface OnePortOptions {
  readonly certificates: PortCertificates;
  readonly proxySources?: ProxySources | undefined;
  readonly peekTimeoutMs?: number | undefined;
}

interface SniContext {
  readonly entry: SniCertificate;
  readonly context: tls.SecureContext;
}

function secureContextOptions(cert: string, key: string): tls.SecureContextOptions {
  return withTlsPolicy({ cert, key });
}

/** Whether SNI `name` matches `pattern` (exact, or `*.domain` for exactly one more label). */
function hostMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  if (!p.startsWith('*.')) return p === n;
  const dot = n.indexOf('.');
  return dot > 0 && n.slice(dot) === p.slice(1);
}

/**
 * Makes an HTTP socket report the client a PROXY protocol header named, so that everything
 * reading `req.socket.remoteAddress` (X-Forwarded-For, rate limits, logs) sees the real client.
 * Own data properties shadow the socket's getters; only sockets this listener created are changed.
 */
function reportPeer(socket: tls.TLSSocket, remote: TransportAddress): void {
  Object.defineProperty(socket, 'remoteAddress', { value: remote.address });
  Object.defineProperty(socket, 'remotePort', { value: remote.port });
  Object.defineProperty(socket, 'remoteFamily', { value: remote.family === 6 ? 'IPv6' : 'IPv4' });
}

/** OnePortListener owns the shared TCP port and its TLS terminator. */
export class OnePortListener {
  readonly server: net.Server;
  readonly #tls: tls.Server;
  readonly #handlers: PortHandlers;
  readonly #options: OnePortOptions;
  /** Real clients of proxied connections, by the load balancer's `address|port`. */
  readonly #proxied = new Map<string, TransportAddress>();
  #sni: SniContext[] = [];

  constructor(options: OnePortOptions, handlers: PortHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#sni = this.#sniContexts(options.certificates.sni);
    this.#tls = tls.createServer({
      ...secureContextOptions(options.certificates.cert, options.certificates.key),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      ALPNCallback: ({ servername, protocols }) => this.#selectAlpn(servername, protocols),
      SNICallback: (servername, callback) => {
        callback(null, this.#sniFor(servername)?.context);
      },
    });
    this.#tls.on('secureConnection', (socket: tls.TLSSocket) => {
      this.#onSecure(socket);
    });
    this.#tls.on('tlsClientError', () => {
      this.#drop('tls-handshake');
    });
    this.server = net.createServer({ noDelay: true }, (socket) => {
      this.#onConnection(socket);
    });
  }

  /** Binds `host:port` (port 0 picks a free one). */
  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, ipv6Only: false }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /** Replaces every certificate for new connections (SIGHUP); live connections keep theirs. */
  setCertificates(certificates: PortCertificates): void {
    const sni = this.#sniContexts(certificates.sni);
    this.#tls.setSecureContext(secureContextOptions(certificates.cert, certificates.key));
    this.#sni = sni;
  }

  /** Stops accepting connections; open ones are left to their servers. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  #sniContexts(entries: readonly SniCertificate[] | undefined): SniContext[] {
    return (entries ?? []).map((entry) => ({
      entry,
      context: tls.createSecureContext(secureContextOptions(entry.cert, entry.key)),
    }));
  }

  #sniFor(servername: string | undefined): SniContext | undefined {
    if (servername === undefined || servername === '') return undefined;
    return this.#sni.find((s) => hostMatches(s.entry.host, servername));
  }

  #roleOf(servername: string | false | null | undefined): PortRole | undefined {
    return this.#sniFor(typeof servername === 'string' ? servername : undefined)?.entry.role;
  }

  /** RFC 7301 §3.2: the server picks one of the client's protocols, or fails the handshake. */
  #selectAlpn(servername: string | undefined, protocols: readonly string[]): string | undefined {
    const role = this.#roleOf(servername);
    const offered = (p: string): boolean => protocols.includes(p);
    if (role !== 'http' && this.#handlers.turn && offered('stun.turn')) return 'stun.turn';
    if (role === 'turn') return undefined;
    if (offered('h2')) return 'h2';
    return offered('http/1.1') ? 'http/1.1' : undefined;
  }

  #drop(reason: PortDropReason, socket?: net.Socket): void {
    this.#handlers.onDropped?.(reason);
    socket?.destroy();
  }

  #onConnection(socket: net.Socket): void {
    if (this.#options.proxySources?.has(socket.remoteAddress) !== true) {
      this.#tls.emit('connection', socket);
      return;
    }
    socket.on('error', () => undefined); // a reset during the header; 'close' follows
    readProxyHeader(socket).then(
      (header) => {
        const remote = proxiedClient(header);
        if (remote !== undefined) {
          const key = `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
          this.#proxied.set(key, remote);
          socket.once('close', () => this.#proxied.delete(key));
        }
        this.#tls.emit('connection', socket);
      },
      () => {
        this.#drop('proxy-protocol', socket);
      },
    );
  }

  #onSecure(socket: tls.TLSSocket): void {
    const key = `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
    const remote = this.#proxied.get(key);
    this.#proxied.delete(key);
    socket.on('error', () => undefined); // resets before a server takes over; 'close' follows
    const alpn = socket.alpnProtocol;
    if (alpn === 'stun.turn' || alpn === 'h2' || alpn === 'http/1.1') {
      this.#route(socket, alpn === 'stun.turn' ? 'turn' : alpn, remote, 'alpn');
      return;
    }
    this.#peek(socket, remote);
  }

  #route(
    socket: tls.TLSSocket,
    protocol: 'turn' | 'h2' | 'http/1.1',
    remote: TransportAddress | undefined,
    how: 'alpn' | 'peek',
  ): void {
    const role = this.#roleOf(socket.servername);
    const turn = this.#handlers.turn;
    const allowed = protocol === 'turn' ? turn !== undefined && role !== 'http' : role !== 'turn';
    if (!allowed) {
      this.#drop('wrong-role', socket);
      return;
    }
    this.#handlers.onRouted?.(protocol, how);
    if (protocol === 'turn') {
      turn?.(socket, remote);
      return;
    }
    if (remote !== undefined) reportPeer(socket, remote);
    if (protocol === 'h2') this.#handlers.h2(socket);
    else this.#handlers.http1(socket);
  }

  /** Reads the first decrypted bytes (bounded in size and time), puts them back, and routes. */
  #peek(socket: tls.TLSSocket, remote: TransportAddress | undefined): void {
    let seen: Buffer = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
    };
    const onEnd = (): void => {
      done();
      this.#drop('unknown-bytes', socket);
    };
    const onReadable = (): void => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk;
        chunk = socket.read() as Buffer | null
      ) {
        seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
        const kind = classifyFirstBytes(seen.subarray(0, PEEK_MAX_BYTES));
        if (kind === 'incomplete' && seen.length < PEEK_MAX_BYTES) continue;
        done();
        socket.unshift(seen);
        if (kind === 'turn' || kind === 'http')
          this.#route(socket, kind === 'turn' ? 'turn' : 'http/1.1', remote, 'peek');
        else this.#drop('unknown-bytes', socket);
        return;
      }
    };
    const timer = setTimeout(() => {
      done();
      this.#drop('peek-timeout', socket);
    }, this.#options.peekTimeoutMs ?? PEEK_TIMEOUT_MS);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
  }
}
