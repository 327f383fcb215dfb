/**
 * StreamListener: TURN over TCP or TLS. Each connection is one client 5-tuple; its byte stream
 * is split into STUN messages and ChannelData (RFC 8656 §12.5: padded to 4 bytes over streams).
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import { StreamFramer, StunDecodeError } from '@cloudproxy/stun';
import type { TransportAddress } from '@cloudproxy/stun';
import type { TurnServerCore } from '../server-core.js';
import type { ClientRef, ClientSink } from '../types.js';
import type { ActionRunner } from './udp-listener.js';

/** Bytes queued for a slow client beyond which relayed data is dropped (control messages are not). */
const MAX_QUEUED_BYTES = 1024 * 1024;
const PADDING = new Uint8Array(3);

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
  /** Called for every stream error or malformed frame (counted by the server). */
  readonly onDropped: (reason: 'malformed' | 'overload' | 'connection-limit') => void;
}

/** StreamListener owns one TCP or TLS server. */
export class StreamListener {
  readonly server: net.Server;
  readonly transport: 'tcp' | 'tls';
  readonly #options: StreamListenerOptions;
  readonly #connections = new Map<string, net.Socket>();
  #nextConnection = 1;

  constructor(options: StreamListenerOptions) {
    this.#options = options;
    this.transport = options.tls ? 'tls' : 'tcp';
    const onSocket = (socket: net.Socket): void => {
      this.#accept(socket);
    };
    this.server = options.tls
      ? tls.createServer(
          {
            ...options.tls,
            minVersion: 'TLSv1.2',
            // RFC 7443: "stun.turn". Clients that offer other protocols, or none, are served too.
            ALPNCallback: ({ protocols }) =>
              protocols.includes('stun.turn') ? 'stun.turn' : undefined,
            handshakeTimeout: 10_000,
          },
          onSocket,
        )
      : net.createServer({ noDelay: true }, onSocket);
    this.server.maxConnections = options.maxConnections;
    this.server.on('drop', () => {
      options.onDropped('connection-limit');
    });
    if (options.tls)
      this.server.on('tlsClientError', () => {
        options.onDropped('malformed');
      });
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
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
    if (this.server instanceof tls.Server) this.server.setSecureContext(context);
  }

  /** Closes the connection of client `key`, if it is one of this listener's. */
  closeClient(key: string): void {
    this.#connections.get(key)?.destroy();
  }

  /** Stops accepting; with `destroy`, also closes every open connection. */
  close(destroy: boolean): Promise<void> {
    if (destroy) for (const socket of this.#connections.values()) socket.destroy();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  #accept(socket: net.Socket): void {
    const { core, run, onDropped } = this.#options;
    socket.setNoDelay(true);
    const client = this.#client(socket);
    this.#connections.set(client.key, socket);
    const framer = new StreamFramer((frame, kind) => {
      if (kind === 'channel-data') {
        const binding = core.channelTarget(client.key, frame);
        if (binding) {
          // Copy: the frame may view the framer's buffer, and a UDP send completes later.
          const payload = Buffer.from(frame.subarray(4));
          binding.relay.sink.send(payload, binding.peer.port, binding.peer.address);
        }
        return;
      }
      run(core.handleClientPacket(client, frame));
    });
    socket.setTimeout(this.#options.idleTimeoutMs, () => {
      if (!core.hasAllocation(client.key)) socket.destroy();
    });
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      // A client's first bytes are a STUN request (top bits 00); anything else (an HTTP request,
      // TLS to the plain port, ChannelData before any allocation) is garbage: close at once.
      if (!started) {
        started = true;
        if (((chunk[0] ?? 0) & 0xc0) !== 0) {
          onDropped('malformed');
          socket.destroy();
          return;
        }
      }
      try {
        framer.push(chunk);
      } catch (error) {
        if (!(error instanceof StunDecodeError)) throw error;
        // Garbage on a stream cannot be resynchronised: count it and close the connection.
        onDropped('malformed');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined); // surfaced as 'close'; nothing to answer
    socket.on('close', () => {
      this.#connections.delete(client.key);
      run(core.handleClientClosed(client));
    });
  }

  #client(socket: net.Socket): ClientRef {
    const onDropped = this.#options.onDropped;
    const write = (bytes: Uint8Array, droppable: boolean): void => {
      if (socket.destroyed) return;
      if (droppable && socket.writableLength > MAX_QUEUED_BYTES) {
        onDropped('overload');
        return;
      }
      socket.write(bytes);
    };
    const sink: ClientSink = {
      send: (bytes) => {
        write(bytes, false);
      },
      sendChannelData: (channelNumber, payload) => {
        const padded = (payload.length + 3) & ~3;
        const frame = Buffer.allocUnsafe(4 + padded);
        frame.writeUInt16BE(channelNumber, 0);
        frame.writeUInt16BE(payload.length, 2);
        frame.set(payload, 4);
        frame.set(PADDING.subarray(0, padded - payload.length), 4 + payload.length);
        write(frame, true);
      },
    };
    const family = socket.remoteFamily === 'IPv6' ? 6 : 4;
    return {
      key: `${this.transport}${this.#options.id}|${this.#nextConnection++}`,
      transport: this.transport,
      remote: { family, address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      local: { family, address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      sink,
    };
  }
}
