/**
 * @cloudproxy/dataplane: the native UDP and TCP data plane of the TURN relay, a typed wrapper
 * over the N-API addon in `src/*.c` (docs/data-plane.md). The addon owns the UDP listening
 * sockets (one per worker thread, SO_REUSEPORT), the relay sockets, and the TCP client
 * connections handed over to it, and relays ChannelData and Send/Data for the allocations
 * JavaScript programmed; every other datagram or frame is handed to `onPacket` in batches.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The raw addon functions (plane.c); use {@link DataPlane} instead. */
interface Addon {
  open(
    threads: number,
    minPort: number,
    maxPort: number,
    onPackets: (b: Buffer) => void,
    lingerMs: number,
    gso: boolean,
  ): object;
  close(plane: object): void;
  threads(plane: object): number;
  listen(plane: object, ip: string, port: number): [number, number];
  openRelay(plane: object, worker: number, ip: string, port: number, relayId: number): number;
  closeRelay(plane: object, handle: number): boolean;
  moveRelay(plane: object, handle: number, worker: number): number;
  send(
    plane: object,
    kind: 0 | 1,
    id: number,
    worker: number,
    ip: string,
    port: number,
    data: Uint8Array,
  ): number;
  flushSends(plane: object): number;
  adoptStream(
    plane: object,
    worker: number,
    fd: number,
    id: number,
    partial: Uint8Array,
    tls: number,
  ): number;
  tlsContext(plane: object, cert: Uint8Array, key: Uint8Array, ciphers: string): number;
  freeTlsContext(plane: object, id: number): void;
  streamSend(plane: object, handle: number, data: Uint8Array, droppable: boolean): number;
  closeStream(plane: object, handle: number, linger: boolean): boolean;
  pipeStream(plane: object, handle: number): number;
  program(
    plane: object,
    handle: number,
    worker: number,
    listener: number,
    clientIp: string,
    clientPort: number,
    relays: number[],
    ttlMs: number,
    permissions: (string | number)[],
    channels: (string | number)[],
    stream: number,
  ): number;
  unprogram(plane: object, handle: number, out: Float64Array): boolean;
  take(plane: object, handle: number, out: Float64Array): boolean;
  takeAll(plane: object): Float64Array;
  stats(plane: object): Float64Array;
  hmac(sha256: boolean, key: Uint8Array, data: Uint8Array, out: Uint8Array): number;
}

/**
 * A datagram the fast path did not handle, or news of a TCP client. `address` views the batch:
 * copy to keep it.
 */
export interface PassedUpPacket {
  /**
   * 'client': arrived on listening socket `id`; 'peer': arrived on the relay with id `id`;
   * 'stream': one frame (without padding) of the TCP or TLS client adopted with id `id`;
   * 'stream-end': that client's connection ended on the worker (`data[0]` 0: closed, 1: bad
   * framing, 2: TLS failure, including a client gone before its handshake ended, 3: a TLS client
   * gone after its handshake before its first bytes could be told: no STUN message's first 8
   * bytes, no HTTP method), and its handle waits for
   * {@link DataPlane.closeStream};
   * 'stream-refused': a TLS client's first decrypted bytes (up to 512) do not start a STUN
   * message (top bits 00, then the magic cookie at offset 4); the worker reads it no more, and it waits for an answer and closeStream, or for
   * {@link DataPlane.pipeStream} (a first record of fewer than 17 upper-case letters, which may
   * be the start of an HTTP method, waits for more first). Streams
   * have no address (zeros).
   */
  readonly source: 'client' | 'peer' | 'stream' | 'stream-end' | 'stream-refused';
  readonly id: number;
  /** Worker thread that received it (a client's datagrams always reach the same one). */
  readonly worker: number;
  readonly family: 4 | 6;
  /** 4 or 16 address bytes. */
  readonly address: Uint8Array;
  readonly port: number;
  readonly data: Buffer;
}

/** Options of {@link DataPlaneAddon.open}. */
export interface DataPlaneOptions {
  /** Worker threads; 0 or absent = one per online CPU but one, 1 on up to 2 CPUs (at most 64). */
  readonly threads?: number | undefined;
  /** Relay port range (a peer on an own address may be reached on these ports only). */
  readonly minPort: number;
  readonly maxPort: number;
  /** Receives every datagram the fast path passes up, in arrival order per worker. */
  readonly onPacket: (packet: PassedUpPacket) => void;
  /** Datagrams sent from JavaScript that could not leave (full buffer, …), after each flush. */
  readonly onSendErrors?: ((count: number) => void) | undefined;
  /**
   * A stream closed after an answer (`closeStream(handle, true)`, or a piped client whose
   * JavaScript side ended) gets a lingering close: its last bytes are sent, its write side shut,
   * and what the client still sends is read and dropped until the client's end, so that the
   * client gets the whole answer instead of a reset. It is closed after this long without progress, or 6 times
   * this long in all. 0: closed at once. Default 5000 (5 s), at most 3,600,000.
   */
  readonly lingerMs?: number | undefined;
  /**
   * UDP generic segmentation offload (Linux 4.18+): consecutive datagrams of one wake-up to the
   * same address with the same size leave as one segmented send. Default true, where the kernel
   * has it; false sends each datagram on its own.
   */
  readonly gso?: boolean | undefined;
}

/** Default of {@link DataPlaneOptions.lingerMs}. */
export const DEFAULT_LINGER_MS = 5000;

/** A permission as the fast path sees it. RFC 8656 §9. */
export interface NativePermission {
  readonly ip: string;
  readonly ttlMs: number;
  /** Own-address peer: a Send indication may reach its relay ports only. */
  readonly relayPortsOnly: boolean;
}

/** A channel binding as the fast path sees it. RFC 8656 §12. */
export interface NativeChannel {
  readonly number: number;
  readonly ip: string;
  readonly port: number;
  readonly ttlMs: number;
}

/** The whole forwarding entry of one allocation (see {@link DataPlane.program}). */
export interface NativeAllocation {
  readonly worker: number;
  /** A TCP client's stream handle (then listener, clientIp and clientPort are ignored). */
  readonly stream?: number | undefined;
  readonly listener: number;
  readonly clientIp: string;
  readonly clientPort: number;
  /** Relay handles (at most one per family), all opened on `worker`. */
  readonly relays: readonly number[];
  readonly ttlMs: number;
  readonly permissions: readonly NativePermission[];
  readonly channels: readonly NativeChannel[];
}

/** Bytes and packets relayed by the fast path for one allocation. */
export interface NativeCounts {
  readonly fromClientBytes: number;
  readonly fromClientPackets: number;
  readonly toClientBytes: number;
  readonly toClientPackets: number;
}

/** Counters of the whole plane (monotonic, summed over workers). */
export interface DataPlaneStats {
  readonly receivedPackets: number;
  readonly toPeerPackets: number;
  readonly toPeerBytes: number;
  readonly toClientPackets: number;
  readonly toClientBytes: number;
  readonly passedUpPackets: number;
  /** Passed-up datagrams dropped because JavaScript was behind. */
  readonly passedUpDropped: number;
  readonly sendErrors: number;
  readonly truncated: number;
  readonly recvCalls: number;
  readonly sendCalls: number;
  /** Relayed data not queued for a TCP client too far behind (1 MiB queued). */
  readonly streamDropped: number;
  /** TCP client connections handed over to the plane ({@link DataPlane.adoptStream}). */
  readonly streamsAdopted: number;
  /** Connections in their lingering close now (a gauge; see {@link DataPlaneOptions.lingerMs}). */
  readonly lingering: number;
  /** Datagrams that left in a segmented send (UDP GSO; see {@link DataPlaneOptions.gso}). */
  readonly gsoDatagrams: number;
}

/** Most permissions and channels one allocation may have on the fast path (table.h). */
export const MAX_NATIVE_PERMISSIONS = 64;
export const MAX_NATIVE_CHANNELS = 64;

const RECORD_BYTES = 36;
const SOURCES = ['client', 'peer', 'stream', 'stream-end', 'stream-refused'] as const;

/** One open native data plane. Every method is synchronous and cheap. */
export class DataPlane {
  readonly #addon: Addon;
  readonly #plane: object;
  #closed = false;
  /** take() and unprogram() write the counts here: no array per call. */
  readonly #counts = new Float64Array(4);
  /** The counters at close: stats() keeps answering after the plane is gone. */
  #final: DataPlaneStats | undefined;
  /** Number of worker threads. */
  readonly threads: number;
  readonly #onSendErrors: ((count: number) => void) | undefined;
  /** Whether the send queue is flushed when the current JavaScript turn ends. */
  #flushDue = false;

  /** @internal Use {@link DataPlaneAddon.open}. */
  constructor(addon: Addon, options: DataPlaneOptions) {
    this.#addon = addon;
    this.#onSendErrors = options.onSendErrors;
    const onPacket = options.onPacket;
    this.#plane = addon.open(
      options.threads ?? 0,
      options.minPort,
      options.maxPort,
      (batch) => {
        if (!this.#closed) forEachRecord(batch, onPacket);
      },
      options.lingerMs ?? DEFAULT_LINGER_MS,
      options.gso ?? true,
    );
    this.threads = addon.threads(this.#plane);
  }

  /** Binds `ip:port` once per worker (port 0 picks one); returns the listener index and port. */
  listen(ip: string, port: number): { listener: number; port: number } {
    const [listener, bound] = this.#addon.listen(this.#plane, ip, port);
    return { listener, port: bound };
  }

  /** Binds a relay socket on `worker`; returns its handle, or undefined (port taken, …). */
  openRelay(worker: number, ip: string, port: number, relayId: number): number | undefined {
    const handle = this.#addon.openRelay(this.#plane, worker, ip, port, relayId);
    return handle >= 0 ? handle : undefined;
  }

  /** The worker a relay handle belongs to (the handle carries it: bits 24-31, plane.c). */
  static workerOf(handle: number): number {
    return Math.floor(handle / 2 ** 24) % 256;
  }

  /** Closes a relay socket (its allocation stays, without that relay). */
  closeRelay(handle: number): boolean {
    return this.#addon.closeRelay(this.#plane, handle);
  }

  /**
   * Moves a relay socket (still bound) to `worker`; returns its new handle, or undefined. An
   * allocation's relays must live on its client's worker (a reserved EVEN-PORT socket may not).
   */
  moveRelay(handle: number, worker: number): number | undefined {
    const moved = this.#addon.moveRelay(this.#plane, handle, worker);
    return moved >= 0 ? moved : undefined;
  }

  /**
   * Sends from listening socket `listener` (as received by `worker`); false if the listener is
   * unknown. Like {@link sendFromRelay}, the datagram is queued (a copy).
   */
  sendFromListener(listener: number, worker: number, ip: string, port: number, data: Uint8Array) {
    const ok = this.#addon.send(this.#plane, 0, listener, worker, ip, port, data) === 0;
    this.#flushWhenTurnEnds();
    return ok;
  }

  /**
   * Sends from a relay socket to a peer; false when the handle is stale. The datagram is queued
   * (a copy: `data` may be reused at once) and leaves when the current JavaScript turn ends,
   * with the others queued for the same socket in one sendmmsg (the frames of one stream read,
   * the replies to one batch of requests), or earlier when the queue is full. Closing the relay
   * sends its queue first. Datagrams that cannot leave go to `onSendErrors`.
   */
  sendFromRelay(handle: number, ip: string, port: number, data: Uint8Array): boolean {
    const ok = this.#addon.send(this.#plane, 1, handle, 0, ip, port, data) === 0;
    this.#flushWhenTurnEnds();
    return ok;
  }

  /**
   * Serves a connected TCP client in the addon from now on: the worker reads `fd` (a duplicate
   * of it: the caller closes its own, e.g. by destroying the net.Socket in the same turn,
   * without ending the connection), relays what the table allows and passes every other frame
   * up as 'stream' records with `id`. `partial` is an incomplete frame already read from the
   * socket (at most 128 KiB). With `tls` (a {@link tlsContext}), the client speaks TLS: the
   * worker does the handshake (`partial` is its start) and decrypts. Returns the stream handle,
   * or undefined.
   */
  adoptStream(
    worker: number,
    fd: number,
    id: number,
    partial: Uint8Array,
    tls?: number,
  ): number | undefined {
    const handle = this.#addon.adoptStream(this.#plane, worker, fd, id, partial, tls ?? -1);
    return handle >= 0 ? handle : undefined;
  }

  /**
   * A TLS server context for adopted streams: PEM certificate (its chain after it) and key, the
   * TLS 1.2 cipher list (OpenSSL names); TLS 1.2 and 1.3 only, ALPN "stun.turn" when offered.
   * Throws (code ERR_DATAPLANE_TLS, OpenSSL's reason) when they cannot be used.
   */
  tlsContext(cert: Uint8Array, key: Uint8Array, ciphers: string): number {
    return this.#addon.tlsContext(this.#plane, cert, key, ciphers);
  }

  /** Drops a TLS context (streams that use it keep it until they end). */
  freeTlsContext(id: number): void {
    if (!this.#closed) this.#addon.freeTlsContext(this.#plane, id);
  }

  /**
   * Queues bytes for a TCP client (a copy), written when the JavaScript turn ends with all else
   * queued for it. `droppable` bytes (relayed data) are dropped when 1 MiB waits already.
   * Returns 'sent', 'dropped', or 'gone' (stale handle, or the connection ended).
   */
  sendToStream(handle: number, data: Uint8Array, droppable: boolean): 'sent' | 'dropped' | 'gone' {
    const rc = this.#addon.streamSend(this.#plane, handle, data, droppable);
    if (rc === 0) this.#flushWhenTurnEnds();
    return rc === 0 ? 'sent' : rc === -2 ? 'dropped' : 'gone';
  }

  /**
   * Closes a TCP client's connection and frees its handle. What is queued, then a TLS stream's
   * close_notify, get one last write; with `linger` (the client was answered and may still be
   * sending) they leave in a lingering close instead ({@link DataPlaneOptions.lingerMs}).
   */
  closeStream(handle: number, linger = false): boolean {
    if (this.#closed) return false;
    return this.#addon.closeStream(this.#plane, handle, linger);
  }

  /**
   * Serves a refused TLS stream ('stream-refused') as HTTP: the worker goes on decrypting the
   * client's bytes (those already refused first) into one end of a Unix socketpair and encrypts
   * what comes back from it; the other end is returned, for JavaScript's HTTP server (the caller
   * owns and closes it; `new net.Socket({ fd })`). When either side ends, the worker ends the
   * stream ('stream-end') once the bytes in flight are through. Undefined when the handle is
   * stale, the stream was not refused, or it ended.
   */
  pipeStream(handle: number): number | undefined {
    if (this.#closed) return undefined;
    const fd = this.#addon.pipeStream(this.#plane, handle);
    return fd >= 0 ? fd : undefined;
  }

  /** Sends every queued datagram now (it otherwise leaves when the JavaScript turn ends). */
  flushSends(): void {
    this.#flushDue = false;
    if (this.#closed) return;
    const failed = this.#addon.flushSends(this.#plane);
    if (failed > 0) this.#onSendErrors?.(failed);
  }

  #flushWhenTurnEnds(): void {
    if (this.#flushDue) return;
    this.#flushDue = true;
    queueMicrotask(this.#flushIfDue);
  }

  /** The microtask of {@link #flushWhenTurnEnds}: one function, made once. */
  readonly #flushIfDue = (): void => {
    if (this.#flushDue) this.flushSends();
  };

  /**
   * Creates (`handle` undefined) or replaces an allocation's forwarding entry; returns its
   * handle, or undefined when it cannot be programmed (stale handle, relay on another worker,
   * too many permissions or channels): its datagrams then all go up.
   */
  program(entry: NativeAllocation, handle?: number): number | undefined {
    const permissions: (string | number)[] = [];
    for (const p of entry.permissions) permissions.push(p.ip, p.ttlMs, p.relayPortsOnly ? 1 : 0);
    const channels: (string | number)[] = [];
    for (const c of entry.channels) channels.push(c.number, c.ip, c.port, c.ttlMs);
    const result = this.#addon.program(
      this.#plane,
      handle ?? -1,
      entry.worker,
      entry.listener,
      entry.clientIp,
      entry.clientPort,
      [...entry.relays],
      entry.ttlMs,
      permissions,
      channels,
      entry.stream ?? -1,
    );
    return result >= 0 ? result : undefined;
  }

  /** Removes an allocation's entry; returns what it relayed since the last take. */
  unprogram(handle: number): NativeCounts | undefined {
    return this.#addon.unprogram(this.#plane, handle, this.#counts)
      ? toCounts(this.#counts)
      : undefined;
  }

  /** What an allocation relayed since the last take (and resets it). */
  take(handle: number): NativeCounts | undefined {
    return this.#addon.take(this.#plane, handle, this.#counts) ? toCounts(this.#counts) : undefined;
  }

  /**
   * Every allocation that relayed something since the last take (reset), in one call; nothing
   * after close.
   */
  takeAll(fn: (handle: number, counts: NativeCounts) => void): void {
    if (this.#closed) return; // nothing is counted any more: close() took the plane away
    const flat = this.#addon.takeAll(this.#plane);
    for (let i = 0; i + 4 < flat.length; i += 5) {
      fn(flat[i] ?? 0, toCounts(flat.subarray(i + 1, i + 5)) ?? ZERO);
    }
  }

  /** The plane's counters (summed over workers); after close, their values at close. */
  stats(): DataPlaneStats {
    if (this.#final) return this.#final;
    const s = this.#addon.stats(this.#plane);
    const at = (i: number): number => s[i] ?? 0;
    return {
      receivedPackets: at(0),
      toPeerPackets: at(1),
      toPeerBytes: at(2),
      toClientPackets: at(3),
      toClientBytes: at(4),
      passedUpPackets: at(5),
      passedUpDropped: at(6),
      sendErrors: at(7),
      truncated: at(8),
      recvCalls: at(9),
      sendCalls: at(10),
      streamDropped: at(11),
      streamsAdopted: at(12),
      lingering: at(13),
      gsoDatagrams: at(14),
    };
  }

  /** Stops and joins the worker threads and closes every socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#final = this.stats();
    this.#closed = true;
    this.#addon.close(this.#plane);
  }
}

const ZERO: NativeCounts = {
  fromClientBytes: 0,
  fromClientPackets: 0,
  toClientBytes: 0,
  toClientPackets: 0,
};

function toCounts(a: Float64Array | null): NativeCounts | undefined {
  if (!a) return undefined;
  return {
    fromClientBytes: a[0] ?? 0,
    fromClientPackets: a[1] ?? 0,
    toClientBytes: a[2] ?? 0,
    toClientPackets: a[3] ?? 0,
  };
}

/** Splits a batch from the addon into packets (record layout in worker.c, push_up). */
export function forEachRecord(batch: Buffer, fn: (packet: PassedUpPacket) => void): void {
  let offset = 0;
  while (offset + RECORD_BYTES <= batch.length) {
    const family = batch[offset + 1] === 6 ? 6 : 4;
    const length = batch.readUInt32LE(offset + 4);
    const start = offset + RECORD_BYTES;
    if (start + length > batch.length) return;
    fn({
      source: SOURCES[batch[offset] ?? 0] ?? 'client',
      id: batch.readDoubleLE(offset + 8),
      worker: batch.readUInt32LE(offset + 32),
      family,
      address: batch.subarray(offset + 16, offset + 16 + (family === 6 ? 16 : 4)),
      port: batch.readUInt16LE(offset + 2),
      data: batch.subarray(start, start + length),
    });
    offset = start + ((length + 3) & ~3);
  }
}

/** The loaded addon: opens data planes, and computes STUN's HMACs. */
export interface DataPlaneAddon {
  open(options: DataPlaneOptions): DataPlane;
  /**
   * HMAC-SHA256 (`sha256`) or HMAC-SHA1 of `data` under `key` (RFC 2104), through OpenSSL with
   * the digest fetched once: about 0.8 µs a call here against node:crypto's 3.8 µs for
   * `createHmac(...).update(data).digest()`. For MESSAGE-INTEGRITY(-SHA256) and nonces, where
   * a server that allocates at a high rate spends 10-15% of its time. Synchronous; a new array.
   */
  readonly hmac: (sha256: boolean, key: Uint8Array, data: Uint8Array) => Uint8Array;
}

let loaded: { addon?: DataPlaneAddon; reason?: string } | undefined;

/**
 * Loads the addon once. Returns undefined when it is not available (not built, not Linux, load
 * error); {@link dataPlaneUnavailableReason} then says why.
 */
export function loadDataPlane(): DataPlaneAddon | undefined {
  loaded ??= tryLoad();
  return loaded.addon;
}

/** Why {@link loadDataPlane} returned undefined (undefined when it loaded). */
export function dataPlaneUnavailableReason(): string | undefined {
  loaded ??= tryLoad();
  return loaded.reason;
}

function tryLoad(): { addon?: DataPlaneAddon; reason?: string } {
  const root = path.resolve(import.meta.dirname, '..');
  const file = path.join(root, 'build', 'Release', 'dataplane.node');
  if (process.platform !== 'linux') return { reason: `Linux only (this is ${process.platform})` };
  try {
    const raw = createRequire(import.meta.url)(file) as Addon;
    // The addon writes each digest here (an array per call would cost about as much as the HMAC).
    const digest = new Uint8Array(new ArrayBuffer(32));
    return {
      addon: {
        open: (options) => new DataPlane(raw, options),
        hmac: (sha256, key, data) => digest.slice(0, raw.hmac(sha256, key, data, digest)),
      },
    };
  } catch (error) {
    let why = (error as Error).message.split('\n')[0] ?? 'unknown error';
    try {
      why = readFileSync(path.join(root, 'build', 'unavailable.txt'), 'utf8').trim();
    } catch {
      // no build record: the load error says it
    }
    return { reason: `native data plane not available: ${why}` };
  }
}
