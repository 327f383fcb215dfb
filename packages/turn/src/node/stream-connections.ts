/**
 * StreamConnections: the TURN clients of TCP and TLS streams, whoever accepted the socket (a
 * TURN listener, or another server that adopted a decrypted TLS stream, such as the one-port
 * HTTPS listener of `cloudproxy start`). Each connection is one client 5-tuple; its byte stream
 * is split into STUN messages and ChannelData (RFC 8656 §12.5: padded to 4 bytes over streams).
 * @module
 */
import type net from 'node:net';
import { StreamFramer, StunDecodeError } from '@cloudproxy/stun';
import type { TransportAddress } from '@cloudproxy/stun';
import type { TurnServerCore } from '../server-core.js';
import type { ClientRef, ClientSink } from '../types.js';
import { PROXY_V2_SIGNATURE } from '../proxy-protocol.js';
import { httpRefusal, looksLikeHttpRequest } from './http-refusal.js';
import type { NativeStreams, StreamHandover } from './native-streams.js';
import type { ActionRunner } from './udp-listener.js';

/** Bytes queued for a slow client beyond which relayed data is dropped (control messages are not). */
const MAX_QUEUED_BYTES = 1024 * 1024;
const PADDING = new Uint8Array(3);
/** Top two bits of the first byte of a STUN message (RFC 8489 §5: always 0b00). */
const STUN_FIRST_BITS_MASK = 0xc0;

/** Why the driver dropped a connection or a frame (counted per reason). */
export type StreamDropReason =
  'malformed' | 'overload' | 'connection-limit' | 'http-refused' | 'proxy-protocol';

/** Options shared by every connection of one set. */
export interface StreamConnectionsOptions {
  /** Names the set in client keys (`tcp0|7`, `tlsa|3`): unique per server. */
  readonly id: number | string;
  readonly core: TurnServerCore;
  readonly run: ActionRunner;
  /** Close a connection that has no allocation after this long idle. */
  readonly idleTimeoutMs: number;
  /** Called for every stream error, malformed frame or refused connection. */
  readonly onDropped: (reason: StreamDropReason) => void;
  /** The HTTPS port to name when an HTTP request arrives on a TURN port, if there is one. */
  readonly httpsPort?: (() => number | undefined) | undefined;
  /**
   * The native data plane's TCP clients, when it runs: plain TCP connections are handed over to
   * it once their first bytes passed the checks (docs/data-plane.md).
   */
  readonly native?: (() => NativeStreams | undefined) | undefined;
}

/**
 * What a one-port listener adds to a TLS handover (StreamHandover: `http`, `onFirstFrame`,
 * `onEndedEarly`).
 */
export type PortHandover = Pick<StreamHandover, 'http' | 'onFirstFrame' | 'onEndedEarly'>;

/** StreamConnections owns the open TURN stream connections of one listener (or adopter). */
export class StreamConnections {
  readonly #options: StreamConnectionsOptions;
  readonly #sockets = new Map<string, net.Socket>();
  /** Connections handed over to the native data plane: their close functions. */
  readonly #native = new Map<string, () => void>();
  #next = 1;

  constructor(options: StreamConnectionsOptions) {
    this.#options = options;
  }

  /** Number of open connections. */
  get count(): number {
    return this.#sockets.size + this.#native.size;
  }

  /**
   * Serves a connected stream as a TURN client. `remote` overrides the socket's peer address
   * (the real client named by a PROXY protocol header); it feeds XOR-MAPPED-ADDRESS, the nonce
   * and every per-IP decision. Data already read and unshifted into the socket is served first.
   */
  accept(socket: net.Socket, transport: 'tcp' | 'tls', remote?: TransportAddress): ClientRef {
    const { core, run } = this.#options;
    socket.setNoDelay(true);
    const client = this.#client(socket, transport, remote);
    this.#sockets.set(client.key, socket);
    const framer = new StreamFramer((frame, kind) => {
      if (kind === 'channel-data') {
        const binding = core.channelTarget(client.key, frame);
        // No copy although the UDP send completes later: the frame views a chunk the socket
        // allocated for this read (or a copy the framer made), and nothing writes to it again.
        if (binding)
          binding.relay.sink.send(frame.subarray(4), binding.peer.port, binding.peer.address);
        return;
      }
      run(core.handleClientPacket(client, frame));
    });
    socket.setTimeout(this.#options.idleTimeoutMs, () => {
      if (!core.hasAllocation(client.key)) socket.destroy();
    });
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      if (!started) {
        started = true;
        if (!this.#firstChunkIsStun(socket, chunk)) return;
        if (transport === 'tcp' && this.#handOver(socket, chunk, client)) return;
      }
      try {
        framer.push(chunk);
      } catch (error) {
        if (!(error instanceof StunDecodeError)) throw error;
        // Garbage on a stream cannot be resynchronised: count it and close the connection.
        this.#options.onDropped('malformed');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined); // surfaced as 'close'; nothing to answer
    socket.on('close', () => {
      this.#sockets.delete(client.key);
      run(core.handleClientClosed(client));
    });
    // A socket whose first bytes were peeked (paused mode) flows again from here.
    socket.resume();
    return client;
  }

  /** Closes the connection of client `key`, if it is one of this set's. */
  closeClient(key: string): void {
    this.#sockets.get(key)?.destroy();
    this.#native.get(key)?.();
  }

  /** Closes every open connection. */
  destroyAll(): void {
    for (const socket of this.#sockets.values()) socket.destroy();
    for (const close of [...this.#native.values()]) close();
  }

  /**
   * Hands a plain TCP client to the native data plane, with the bytes read so far (this chunk
   * and anything buffered behind it); false when there is no plane or it cannot take the
   * socket, and JavaScript goes on serving it.
   */
  #handOver(socket: net.Socket, chunk: Buffer, client: ClientRef): boolean {
    if (!this.#adopt(socket, client, chunk, undefined)) return false;
    this.#sockets.delete(client.key);
    return true;
  }

  /**
   * A client's first bytes are a STUN request (top bits 00). An HTTP request gets a short
   * refusal that names the HTTPS port; anything else (TLS to the plain port, ChannelData before
   * any allocation) is garbage: the connection is closed at once.
   */
  #firstChunkIsStun(socket: net.Socket, chunk: Buffer): boolean {
    const refused = this.refusalOf(chunk, socket.localAddress);
    if (!refused) return true;
    this.#options.onDropped(refused.reason);
    if (refused.answer === undefined) {
      socket.destroy();
      return false;
    }
    socket.end(refused.answer);
    socket.destroySoon();
    return false;
  }

  /**
   * Why a stream's first bytes are refused (and the answer to write before closing), or
   * undefined for a STUN request (top bits 00). A PROXY protocol header from a source not
   * configured to send one is refused; an HTTP request gets a short refusal that names the
   * HTTPS port; anything else (TLS to the plain port, ChannelData before any allocation) is
   * garbage.
   */
  refusalOf(
    chunk: Uint8Array,
    localAddress: string | undefined,
  ): { reason: StreamDropReason; answer?: string } | undefined {
    if (isProxyHeaderStart(chunk)) return { reason: 'proxy-protocol' };
    if (((chunk[0] ?? 0) & STUN_FIRST_BITS_MASK) === 0) return undefined;
    if (looksLikeHttpRequest(chunk)) {
      const answer = httpRefusal(chunk, localAddress, this.#options.httpsPort?.());
      return { reason: 'http-refused', answer };
    }
    return { reason: 'malformed' };
  }

  /**
   * Hands a TLS client's TCP socket to the native data plane before the handshake, which the
   * addon does with TLS context `context` (bytes already read, after a PROXY protocol header,
   * go with it); false when there is no plane or it cannot take the socket, and Node's TLS
   * server goes on with it.
   */
  handOverTls(
    socket: net.Socket,
    remote: TransportAddress | undefined,
    context: number,
    port?: PortHandover,
  ): boolean {
    return this.#adopt(socket, this.#client(socket, 'tls', remote), Buffer.alloc(0), context, port);
  }

  /**
   * Gives the socket to the native plane with `first` and whatever is buffered behind it, as a
   * TCP client, or with a TLS context as a TLS client; false when it cannot (then the socket
   * flows again, nothing lost).
   */
  #adopt(
    socket: net.Socket,
    client: ClientRef,
    first: Buffer,
    tlsContext: number | undefined,
    port?: PortHandover,
  ) {
    const native = this.#options.native?.();
    if (!native) return false;
    socket.pause();
    const rest = socket.read() as Buffer | null;
    const close = native.adopt(socket, {
      key: client.key,
      transport: tlsContext === undefined ? 'tcp' : 'tls',
      tlsContext,
      remote: client.remote,
      local: client.local,
      bytes: rest ? Buffer.concat([first, rest]) : first,
      idleTimeoutMs: this.#options.idleTimeoutMs,
      onDropped: this.#options.onDropped,
      refusalOf: (bytes) => this.refusalOf(bytes, client.local.address),
      onEnd: () => this.#native.delete(client.key),
      http: port?.http,
      onFirstFrame: port?.onFirstFrame,
      onEndedEarly: port?.onEndedEarly,
    });
    if (!close) {
      if (rest) socket.unshift(rest);
      socket.resume();
      return false;
    }
    this.#native.set(client.key, close);
    return true;
  }

  #client(socket: net.Socket, transport: 'tcp' | 'tls', remote?: TransportAddress): ClientRef {
    const onDropped = this.#options.onDropped;
    // Writes of one tick leave as one write (one TLS record, one syscall): the native plane hands
    // up a batch of peer datagrams at a time, and each would otherwise be its own record.
    let corked = false;
    const uncork = (): void => {
      corked = false;
      socket.uncork();
    };
    const write = (bytes: Uint8Array, droppable: boolean): void => {
      if (socket.destroyed) return;
      if (droppable && socket.writableLength > MAX_QUEUED_BYTES) {
        onDropped('overload');
        return;
      }
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(bytes);
    };
    const sink: ClientSink = {
      send: (bytes) => {
        write(bytes, false);
      },
      sendChannelData: (channelNumber, payload) => {
        write(streamChannelData(channelNumber, payload), true);
      },
    };
    const localFamily = (socket.localAddress ?? '').includes(':') ? 6 : 4;
    const family = socket.remoteFamily === 'IPv6' ? 6 : 4;
    return {
      key: `${transport}${this.#options.id}|${this.#next++}`,
      transport,
      remote: remote ?? {
        family,
        address: socket.remoteAddress ?? '',
        port: socket.remotePort ?? 0,
      },
      local: {
        family: localFamily,
        address: socket.localAddress ?? '',
        port: socket.localPort ?? 0,
      },
      sink,
    };
  }
}

/**
 * A ChannelData frame as it goes on a stream: padded to a multiple of 4 (RFC 8656 §12.5), in
 * one pooled Buffer (the stun codec's encoder zero-fills a fresh array; this is the hot path).
 */
export function streamChannelData(channelNumber: number, payload: Uint8Array): Buffer {
  const padded = (payload.length + 3) & ~3;
  const frame = Buffer.allocUnsafe(4 + padded);
  frame.writeUInt16BE(channelNumber, 0);
  frame.writeUInt16BE(payload.length, 2);
  frame.set(payload, 4);
  frame.set(PADDING.subarray(0, padded - payload.length), 4 + payload.length);
  return frame;
}

/** Whether a stream starts like a PROXY protocol v1 (`PROXY `) or v2 (its signature) header. */
function isProxyHeaderStart(chunk: Uint8Array): boolean {
  const v1 = chunk.length >= 6 && Buffer.from(chunk.subarray(0, 6)).toString('latin1') === 'PROXY ';
  const v2 = chunk.length >= 4 && PROXY_V2_SIGNATURE.subarray(0, 4).every((b, i) => chunk[i] === b);
  return v1 || v2;
}
