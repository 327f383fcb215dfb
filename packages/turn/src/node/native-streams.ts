/**
 * NativeStreams: TCP and TLS clients served by the native data plane. StreamConnections accepts
 * a TCP connection and checks its first bytes as for any stream, or takes a TLS connection before
 * its handshake (after a PROXY protocol header); then the addon takes the descriptor over
 * (DataPlane.adoptStream, with a TLS context for TLS: the worker does the handshake and checks
 * the first decrypted bytes) and the JavaScript socket is closed without ending the connection.
 * The worker splits the stream into frames, relays ChannelData and Send indications of
 * programmed allocations itself, writes what peers send back, and passes every other frame up;
 * those arrive here and go through the core as on the JavaScript path, and after each request
 * the allocation is mirrored into the addon's table (NativeFlows), keyed by the stream.
 * docs/data-plane.md.
 * @module
 */
import net from 'node:net';
import type { DataPlane, PassedUpPacket } from '@cloudproxy/dataplane';
import type { TransportAddress } from '@cloudproxy/stun';
import type { TurnServerCore } from '../server-core.js';
import type { ClientRef, ClientSink } from '../types.js';
import type { NativeClientPlace, NativeFlows } from './native-flows.js';
import { streamChannelData } from './stream-connections.js';
import type { StreamDropReason } from './stream-connections.js';
import { TLS12_CIPHERS } from './tls-policy.js';
import type { ActionRunner } from './udp-listener.js';

/** Bytes a handed-over socket may already have read (the addon's limit: half its read buffer). */
const MAX_HANDED_OVER_BYTES = 128 * 1024;

/** What StreamConnections hands over with a socket. */
export interface StreamHandover {
  readonly key: string;
  readonly transport: 'tcp' | 'tls';
  /** TLS: the addon's context ({@link NativeStreams.tlsContext}); the handshake is the addon's. */
  readonly tlsContext?: number | undefined;
  readonly remote: TransportAddress;
  readonly local: TransportAddress;
  /** The bytes read so far, first-chunk checks passed. */
  readonly bytes: Buffer;
  readonly idleTimeoutMs: number;
  readonly onDropped: (reason: StreamDropReason) => void;
  /** Why a TLS client's first decrypted bytes are refused, and what to answer (StreamConnections). */
  readonly refusalOf: (
    bytes: Uint8Array,
  ) => { reason: StreamDropReason; answer?: string } | undefined;
  /** Called once when the connection has ended (whoever ended it), or was piped as HTTP. */
  readonly onEnd: () => void;
  /**
   * One-port listeners: what to do with a TLS client whose first decrypted bytes are no STUN,
   * before the TURN refusal: a server to pipe it to as HTTP (with the client's address), 'drop'
   * (closed, counted by the caller), or undefined (refused as on a TURN port).
   */
  readonly http?: ((first: Uint8Array) => HttpServe | 'drop' | undefined) | undefined;
  /** Called once when the client's first frame arrives (it speaks TURN). */
  readonly onFirstFrame?: (() => void) | undefined;
  /**
   * One-port listeners: a TLS client that ended before its first frame, counted by the listener
   * as its own drop, as on Node's path: 'tls-handshake' when its handshake failed, it left in the
   * middle of it, or it sent no frame in time (Node's TLS server reports tlsClientError; the
   * addon does not say when the handshake ended, so a silent client after it counts here too);
   * 'unknown-bytes' when it closed after the handshake without a STUN message's first bytes (the
   * listener's peek). Without it (a TURN port), the first counts as malformed, the second not.
   */
  readonly onEndedEarly?: ((reason: EarlyEnd) => void) | undefined;
}

/** How a one-port listener counts a TLS client that ended before its first frame. */
export type EarlyEnd = 'tls-handshake' | 'unknown-bytes';

/** Serves a piped HTTP client: a plain socket whose bytes the addon decrypts and encrypts. */
export type HttpServe = (socket: net.Socket, remote: TransportAddress) => void;

/** Why the addon ended a stream (`data[0]` of a 'stream-end' record). */
const END_MALFORMED = 1;
const END_TLS = 2;
const END_SILENT = 3;

/** A TLS client that has not sent its first frame by then is closed (handshake timeout). */
const FIRST_FRAME_TIMEOUT_MS = 10_000;
/**
 * A piped HTTP client whose JavaScript socket closed is ended by the addon once its last bytes
 * are sent; one that does not read them is closed after this long.
 */
const PIPE_LINGER_MS = 30_000;

/** NativeStreams owns the TCP clients the addon serves. */
export class NativeStreams {
  readonly #plane: DataPlane;
  readonly #core: TurnServerCore;
  readonly #run: ActionRunner;
  readonly #flows: NativeFlows;
  readonly #byId = new Map<number, NativeStreamClient>();
  #nextId = 1;
  #nextWorker = 0;

  constructor(plane: DataPlane, core: TurnServerCore, run: ActionRunner, flows: NativeFlows) {
    this.#plane = plane;
    this.#core = core;
    this.#run = run;
    this.#flows = flows;
  }

  /** Connections the addon serves. */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * Hands a TCP socket to the addon; returns the client's close function, or undefined when the
   * socket cannot be handed over (no descriptor, too much read already, addon refused): the
   * caller then serves it itself. On success the socket is destroyed here, in the same turn:
   * its descriptor closes, the connection stays with the addon's duplicate.
   */
  adopt(socket: net.Socket, handover: StreamHandover): (() => void) | undefined {
    const fd = descriptorOf(socket);
    if (fd === undefined || handover.bytes.length > MAX_HANDED_OVER_BYTES) return undefined;
    const id = this.#nextId++;
    const worker = this.#nextWorker++ % this.#plane.threads;
    const handle = this.#plane.adoptStream(worker, fd, id, handover.bytes, handover.tlsContext);
    if (handle === undefined) return undefined;
    socket.removeAllListeners('close');
    socket.removeAllListeners('data');
    socket.setTimeout(0);
    socket.destroy();
    const client = new NativeStreamClient(this.#plane, id, handle, worker, handover);
    this.#byId.set(id, client);
    client.idle = setTimeout(() => {
      this.#idle(client);
    }, handover.idleTimeoutMs);
    client.idle.unref();
    if (handover.transport === 'tls') {
      // Node's TLS server gives a handshake 10 s; here the first frame marks its end.
      client.firstFrame = setTimeout(() => {
        this.#handshakeFailed(client, true);
      }, FIRST_FRAME_TIMEOUT_MS);
      client.firstFrame.unref();
    }
    return () => {
      this.#end(client, undefined, true);
    };
  }

  /**
   * A TLS context for adopted TLS streams from PEM certificate and key, with the listeners' TLS
   * policy; throws when the addon cannot use them.
   */
  tlsContext(cert: Uint8Array, key: Uint8Array): number {
    return this.#plane.tlsContext(cert, key, TLS12_CIPHERS);
  }

  /** Drops a TLS context (live streams keep theirs). */
  freeTlsContext(id: number): void {
    this.#plane.freeTlsContext(id);
  }

  /** A record the addon passed up for a stream ('stream', 'stream-end', 'stream-refused'). */
  onRecord(packet: PassedUpPacket): void {
    const client = this.#byId.get(packet.id);
    if (!client) return;
    if (packet.source === 'stream-end') {
      // 1: bad framing; 2: a TLS failure (counted as Node's TLS server counts tlsClientError);
      // 3: gone after the handshake without a byte of STUN.
      const why = packet.data[0] ?? 0;
      if (why === END_TLS && client.firstFrame) this.#handshakeFailed(client, false);
      else if (why === END_SILENT) this.#endedSilent(client);
      else
        this.#end(
          client,
          why === END_MALFORMED || why === END_TLS ? 'malformed' : undefined,
          false,
        );
      return;
    }
    if (client.firstFrame) {
      clearTimeout(client.firstFrame);
      client.firstFrame = undefined;
      if (packet.source === 'stream') client.handover.onFirstFrame?.();
    }
    if (packet.source === 'stream-refused') this.#refuse(client, packet.data);
    else this.#onFrame(client, packet.data);
  }

  /**
   * Ends a TLS client whose handshake failed or timed out before its first frame: counted by the
   * one-port listener that handed it over when it asks to, else (a TURN port) as malformed.
   */
  #handshakeFailed(client: NativeStreamClient, later: boolean): void {
    const early = client.handover.onEndedEarly;
    this.#end(client, early ? undefined : 'malformed', later);
    early?.('tls-handshake');
  }

  /**
   * Ends a TLS client gone after its handshake without a frame: the one-port listener counts it
   * as its peek would (nothing readable); a TURN port, as Node's path, does not count it.
   */
  #endedSilent(client: NativeStreamClient): void {
    this.#end(client, undefined, false);
    client.handover.onEndedEarly?.('unknown-bytes');
  }

  /**
   * A TLS client's first decrypted bytes were not STUN: piped to an HTTP server when the
   * handover says so, else answered (HTTP) or not, then closed.
   */
  #refuse(client: NativeStreamClient, first: Buffer): void {
    const http = client.handover.http?.(first);
    if (http === 'drop') {
      this.#end(client, undefined, false);
      return;
    }
    if (http !== undefined) {
      this.#pipe(client, http);
      return;
    }
    const refused = client.handover.refusalOf(first) ?? { reason: 'malformed' };
    if (refused.answer === undefined) {
      this.#end(client, refused.reason, false);
      return;
    }
    // An HTTP client may still be sending (a body): a lingering close keeps the answer whole.
    this.#plane.sendToStream(client.handle, Buffer.from(refused.answer, 'latin1'), false);
    this.#end(client, refused.reason, false, true);
  }

  /**
   * Serves a refused TLS client as HTTP: the addon pipes its plaintext through a socketpair
   * whose other end becomes the HTTP server's socket. For TURN the client is gone (onEnd); its
   * handle stays here until the addon ends the stream.
   */
  #pipe(client: NativeStreamClient, serve: HttpServe): void {
    const fd = this.#plane.pipeStream(client.handle);
    if (fd === undefined) {
      this.#end(client, 'malformed', false);
      return;
    }
    clearTimeout(client.idle);
    client.piped = true;
    client.handover.onEnd();
    const socket = new net.Socket({ fd, readable: true, writable: true });
    socket.once('close', () => {
      const linger = setTimeout(() => {
        this.#end(client, undefined, false);
      }, PIPE_LINGER_MS);
      linger.unref();
      client.idle = linger;
    });
    serve(socket, client.remote);
  }

  /** A frame the fast path passed up: through the core, as on the JavaScript path. */
  #onFrame(client: NativeStreamClient, data: Buffer): void {
    client.idle?.refresh();
    this.#flows.handle(client.key, data, () => client, this.#run);
  }

  /** Closes every connection. */
  closeAll(): void {
    for (const client of [...this.#byId.values()]) this.#end(client, undefined, true);
  }

  /** Idle check: a connection without an allocation is closed, as on the JavaScript path. */
  #idle(client: NativeStreamClient): void {
    if (this.#core.hasAllocation(client.key)) client.idle?.refresh();
    else this.#end(client, undefined, true);
  }

  /**
   * Ends a client once: frees its handle (closing the connection if still open, in a lingering
   * close when it was answered) and tells the core, a turn later when the server asked for it
   * (as a socket's 'close' event would).
   */
  #end(
    client: NativeStreamClient,
    reason: StreamDropReason | undefined,
    later: boolean,
    linger = false,
  ): void {
    if (!this.#byId.delete(client.id)) return;
    clearTimeout(client.idle);
    clearTimeout(client.firstFrame);
    this.#plane.closeStream(client.handle, linger);
    if (client.piped) return; // TURN was told when it was piped
    if (reason) client.handover.onDropped(reason);
    client.handover.onEnd();
    const closed = (): void => {
      this.#run(this.#core.handleClientClosed(client));
    };
    if (later) process.nextTick(closed);
    else closed();
  }
}

/** The descriptor of a connected TCP socket (Linux), or undefined. */
function descriptorOf(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** A TCP client of the addon: its ClientRef, its sink and its place in the table in one. */
export class NativeStreamClient implements ClientRef, ClientSink, NativeClientPlace {
  readonly transport: 'tcp' | 'tls';
  readonly id: number;
  readonly key: string;
  readonly remote: TransportAddress;
  readonly local: TransportAddress;
  readonly handle: number;
  readonly worker: number;
  readonly handover: StreamHandover;
  /** A stream's allocation is keyed by its handle: no listener or address. */
  readonly listener = 0;
  readonly ip = '';
  readonly port = 0;
  idle: NodeJS.Timeout | undefined;
  firstFrame: NodeJS.Timeout | undefined;
  /** Served as HTTP through a pipe (no TURN client any more). */
  piped = false;
  readonly #plane: DataPlane;

  constructor(plane: DataPlane, id: number, handle: number, worker: number, h: StreamHandover) {
    this.#plane = plane;
    this.id = id;
    this.key = h.key;
    this.transport = h.transport;
    this.remote = h.remote;
    this.local = h.local;
    this.handle = handle;
    this.worker = worker;
    this.handover = h;
  }

  get stream(): number {
    return this.handle;
  }

  get sink(): ClientSink {
    return this;
  }

  send(bytes: Uint8Array): void {
    this.#plane.sendToStream(this.handle, bytes, false);
  }

  sendChannelData(channelNumber: number, payload: Uint8Array): void {
    const frame = streamChannelData(channelNumber, payload);
    if (this.#plane.sendToStream(this.handle, frame, true) === 'dropped')
      this.handover.onDropped('overload');
  }
}
