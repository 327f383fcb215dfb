/**
 * OnePortListener: one TCP port, one TLS terminator, three protocols. Each connection is routed
 * after the TLS handshake by its ALPN protocol (`stun.turn` → TURN, `h2` → HTTP/2, `http/1.1` →
 * HTTP/1.1), or, when the client offered none (TURN clients rarely do), by the first decrypted
 * bytes (STUN/ChannelData vs an HTTP request line). SNI picks a certificate and may pin a host
 * name to one role. Connections from configured load balancers start with a PROXY protocol
 * header, read before the handshake.
 *
 * With the native data plane ({@link NativePortTls}), the ClientHello is read first: a client
 * that offers `stun.turn`, or no ALPN at all (TURN clients, mostly), is handed to the addon
 * before its handshake, which it does itself (docs/data-plane.md); if its first decrypted bytes
 * are an HTTP request after all, the addon pipes the plaintext to the HTTP/1.1 server. Clients
 * that offer HTTP protocols only (browsers, HTTP libraries) and anything the ClientHello reader
 * cannot tell go to Node's TLS server as before.
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
import type { PortHandover, ProxySources } from '@cloudproxy/turn/node';
import { CLIENT_HELLO_MAX_BYTES, readClientHello } from './client-hello.js';
import type { ClientHelloInfo } from './client-hello.js';
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
  /** HTTP/1.1: a TLS socket, or a plain one whose TLS the native data plane terminates. */
  readonly http1: (socket: net.Socket) => void;
  readonly h2: (socket: tls.TLSSocket) => void;
  /** The native data plane's TLS terminator for TURN clients; absent: Node's serves all. */
  readonly native?: NativePortTls | undefined;
  /** Called for every routed connection, with the protocol it was given to. */
  readonly onRouted?:
    ((protocol: 'turn' | 'h2' | 'http/1.1', how: 'alpn' | 'peek') => void) | undefined;
  readonly onDropped?: ((reason: PortDropReason) => void) | undefined;
}

/** The native data plane's side of the port (TurnServer's native TLS calls). */
export interface NativePortTls {
  /** The addon's TLS context for a PEM pair; undefined without a native plane or if refused. */
  context(cert: string, key: string): number | undefined;
  /** Drops a context (live connections keep theirs). */
  freeContext(id: number): void;
  /**
   * Hands a connection to the addon before its handshake (the bytes read so far are unshifted
   * into it); false when it was not taken, and the socket is as it was.
   */
  accept(
    socket: net.Socket,
    remote: TransportAddress | undefined,
    context: number,
    port: PortHandover,
  ): boolean;
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
function reportPeer(socket: net.Socket, remote: TransportAddress): void {
  Object.defineProperty(socket, 'remoteAddress', { value: remote.address });
  Object.defineProperty(socket, 'remotePort', { value: remote.port });
  Object.defineProperty(socket, 'remoteFamily', { value: remote.family === 6 ? 'IPv6' : 'IPv4' });
}

/** Whether a ClientHello goes to the addon: it offers `stun.turn`, or no ALPN at all. */
function offersTurnOnly(hello: ClientHelloInfo): boolean {
  return hello.alpn.length === 0 || hello.alpn.includes('stun.turn');
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
  /** The addon's TLS contexts, by certificate entry (the default pair: undefined), made on use. */
  #nativeContexts = new Map<SniCertificate | undefined, number | 'failed'>();
  #certificates: PortCertificates;

  constructor(options: OnePortOptions, handlers: PortHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#sni = this.#sniContexts(options.certificates.sni);
    this.#certificates = options.certificates;
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
    this.#certificates = certificates;
    for (const id of this.#nativeContexts.values())
      if (id !== 'failed') this.#handlers.native?.freeContext(id);
    this.#nativeContexts.clear();
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
      this.#accept(socket, undefined);
      return;
    }
    socket.on('error', () => undefined); // a reset during the header; 'close' follows
    readProxyHeader(socket).then(
      (header) => {
        this.#accept(socket, proxiedClient(header));
      },
      () => {
        this.#drop('proxy-protocol', socket);
      },
    );
  }

  /**
   * Starts a connection's TLS: Node's TLS server, or with a native plane (and TURN on the port)
   * first its ClientHello, read within the handshake timeout, which may send it to the addon.
   */
  #accept(socket: net.Socket, remote: TransportAddress | undefined): void {
    if (!this.#handlers.native || !this.#handlers.turn) {
      this.#toTls(socket, remote);
      return;
    }
    let seen: Buffer = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
    };
    const onEnd = (): void => {
      done();
      this.#drop('tls-handshake', socket);
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const hello = readClientHello(seen);
      if (hello === 'incomplete' && seen.length < CLIENT_HELLO_MAX_BYTES) return;
      done();
      socket.unshift(seen);
      if (typeof hello === 'object' && this.#toNative(socket, hello, remote)) return;
      this.#toTls(socket, remote);
    };
    const timer = setTimeout(onEnd, HANDSHAKE_TIMEOUT_MS);
    socket.on('error', () => undefined); // a reset before the handshake; 'close' follows
    socket.on('data', onData);
    socket.once('end', onEnd);
  }

  /**
   * Gives a connection to Node's TLS server; the client its PROXY header named waits for
   * #onSecure. (Only here: the addon takes its sockets without their 'close' listeners, so an
   * entry for one would outlive it and name the client of a later connection from that port.)
   */
  #toTls(socket: net.Socket, remote: TransportAddress | undefined): void {
    if (remote !== undefined) {
      const key = `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
      this.#proxied.set(key, remote);
      socket.once('close', () => this.#proxied.delete(key));
    }
    this.#tls.emit('connection', socket);
  }

  /**
   * Hands a connection to the addon when its ClientHello offers TURN only (or nothing) and its
   * SNI name does not pin it to HTTP; false when it stays with Node's TLS server.
   */
  #toNative(socket: net.Socket, hello: ClientHelloInfo, remote: TransportAddress | undefined) {
    const native = this.#handlers.native;
    const sni = this.#sniFor(hello.serverName);
    const role = sni?.entry.role;
    if (!native || !offersTurnOnly(hello) || role === 'http') return false;
    const context = this.#nativeContext(native, sni?.entry);
    if (context === undefined) return false;
    const byAlpn = hello.alpn.includes('stun.turn');
    return native.accept(socket, remote, context, {
      onFirstFrame: () => this.#handlers.onRouted?.('turn', byAlpn ? 'alpn' : 'peek'),
      // As Node's TLS server (tlsClientError) and #peek (nothing readable) report them.
      onEndedEarly: (reason) => {
        this.#drop(reason);
      },
      http: (first) => {
        // A client that asked for TURN by ALPN is refused as a TURN client (Node's path too).
        if (byAlpn) return undefined;
        const kind = classifyFirstBytes(first.subarray(0, PEEK_MAX_BYTES));
        if (kind === 'turn') return undefined; // ChannelData first: TURN refuses it, as in #peek
        if (kind !== 'http') {
          // Neither TURN nor HTTP: closed unanswered and counted here, as #peek does.
          this.#drop('unknown-bytes');
          return 'drop';
        }
        if (role === 'turn') {
          this.#drop('wrong-role');
          return 'drop';
        }
        return (piped, client) => {
          reportPeer(piped, client);
          Object.defineProperty(piped, 'encrypted', { value: true }); // X-Forwarded-Proto
          this.#handlers.onRouted?.('http/1.1', 'peek');
          this.#handlers.http1(piped);
        };
      },
    });
  }

  /** The addon's context for a certificate entry (undefined: the default pair), made once. */
  #nativeContext(native: NativePortTls, entry: SniCertificate | undefined): number | undefined {
    let id = this.#nativeContexts.get(entry);
    if (id === undefined) {
      const { cert, key } = entry ?? this.#certificates;
      id = native.context(cert, key) ?? 'failed';
      this.#nativeContexts.set(entry, id);
    }
    return id === 'failed' ? undefined : id;
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
