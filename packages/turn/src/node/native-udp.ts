/**
 * NativeUdp: the TurnServer's native data plane. The addon owns the UDP listening sockets and
 * every relay socket, and relays ChannelData and Send/Data of UDP clients (and, through
 * NativeStreams, of the TCP and TLS clients it adopted) itself; here arrive, in batches, the
 * datagrams it passes up (requests, anything not in its table), which go through the core
 * exactly as on the JavaScript path. After each request the client's
 * allocation is mirrored into the addon's table (NativeFlows). docs/data-plane.md.
 * @module
 */
import { formatIpAddress } from '@cloudproxy/stun';
import type { TransportAddress } from '@cloudproxy/stun';
import type { DataPlane, DataPlaneAddon, PassedUpPacket } from '@cloudproxy/dataplane';
import type { TurnServerCore } from '../server-core.js';
import type { ClientRef, ClientSink, RelayBoundResult, RelayRequest } from '../types.js';
import { NativeFlows } from './native-flows.js';
import type { NativeClientPlace } from './native-flows.js';
import { NativeRelays } from './native-relays.js';
import { NativeStreamClient, NativeStreams } from './native-streams.js';
import type { RelayAddress } from './relay-pool.js';
import type { ActionRunner } from './udp-listener.js';

/** Receives the peer datagrams the fast path passed up (as RelayPool's handler). */
export type NativePeerHandler = (relayId: number, data: Buffer, ip: string, port: number) => void;

const SYNC_INTERVAL_MS = 1000;

/** NativeUdp opens the native plane and connects it to the core. */
export class NativeUdp {
  readonly plane: DataPlane;
  readonly #core: TurnServerCore;
  readonly #run: ActionRunner;
  readonly #relays: NativeRelays;
  readonly #flows: NativeFlows;
  /** TCP clients the addon serves. */
  readonly streams: NativeStreams;
  readonly #onPeer: NativePeerHandler;
  readonly #locals: TransportAddress[] = [];
  readonly #timer: NodeJS.Timeout;
  #nextStreamWorker = 0;

  constructor(options: {
    addon: DataPlaneAddon;
    threads: number;
    core: TurnServerCore;
    run: ActionRunner;
    relayAddresses: readonly RelayAddress[];
    minPort: number;
    maxPort: number;
    nextId: () => number;
    onSendError: () => void;
    onPeerDatagram: NativePeerHandler;
  }) {
    this.#core = options.core;
    this.#run = options.run;
    this.#onPeer = options.onPeerDatagram;
    this.plane = options.addon.open({
      threads: options.threads,
      minPort: options.minPort,
      maxPort: options.maxPort,
      onPacket: (packet) => {
        this.#onPacket(packet);
      },
      onSendErrors: (count) => {
        for (let i = 0; i < count; i++) options.onSendError();
      },
    });
    this.#relays = new NativeRelays({
      plane: this.plane,
      addresses: options.relayAddresses,
      minPort: options.minPort,
      maxPort: options.maxPort,
      nextId: options.nextId,
      onSendError: options.onSendError,
    });
    this.#flows = new NativeFlows(this.plane, this.#core, this.#relays);
    this.streams = new NativeStreams(this.plane, this.#core, this.#run, this.#flows);
    // Usage and metrics read the core's counters: bring the native ones in every second.
    this.#timer = setInterval(() => {
      this.#flows.collectAll();
    }, SYNC_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Native relay sockets open. */
  get relaySockets(): number {
    return this.#relays.size;
  }

  /** Allocations whose datagrams the addon relays itself. */
  get fastPathAllocations(): number {
    return this.#flows.size;
  }

  /** Binds a listening address on every worker; returns what was bound. */
  listen(ip: string, port: number): TransportAddress {
    const bound = this.plane.listen(ip, port);
    const local: TransportAddress = {
      family: ip.includes(':') ? 6 : 4,
      address: ip,
      port: bound.port,
    };
    this.#locals[bound.listener] = local;
    return local;
  }

  /**
   * Opens the relays of an Allocate in the addon. A UDP client's, and a TCP client's the addon
   * serves, live on the worker that serves it (the fast path needs them there); a TLS client's
   * (or a TCP one served by JavaScript) on the workers in turn: they have no table entry, so
   * the worker reads them in batches and passes every datagram up.
   */
  openRelay(client: ClientRef, request: RelayRequest): Promise<RelayBoundResult> {
    const worker = isNativePlace(client)
      ? client.worker
      : this.#nextStreamWorker++ % this.plane.threads;
    return this.#relays.open(request, worker);
  }

  /** Sends from a native relay; false when `relayId` is not one. */
  sendPeer(relayId: number, data: Uint8Array, port: number, address: string): boolean {
    return this.#relays.send(relayId, data, port, address);
  }

  /** Closes a native relay (and takes its allocation off the fast path); false if not one. */
  closeRelay(relayId: number): boolean {
    this.#flows.relayClosing(relayId);
    return this.#relays.close(relayId);
  }

  /** Adds every native byte counter to the core (before reading or ending allocations). */
  collectAll(): void {
    this.#flows.collectAll();
  }

  /** Stops the threads and closes every native socket. */
  close(): void {
    clearInterval(this.#timer);
    this.streams.closeAll();
    this.#flows.collectAll();
    this.#relays.closeAll();
    this.plane.close();
  }

  #onPacket(packet: PassedUpPacket): void {
    if (packet.source !== 'client' && packet.source !== 'peer') {
      this.streams.onRecord(packet);
      return;
    }
    const ip = formatIpAddress(packet.address) ?? '';
    if (packet.source === 'peer') {
      this.#onPeer(packet.id, packet.data, ip, packet.port);
      return;
    }
    // Joined, not concatenated: one flat string, as the core keeps it for the allocation's life.
    const key = ['u', packet.id, '|', ip, '|', packet.port].join('');
    const local = this.#locals[packet.id];
    this.#flows.handle(
      key,
      packet.data,
      () => new NativeClient(this.plane, key, packet, ip, local),
      this.#run,
    );
  }
}

/** Whether a client is served by the addon (a UDP client, or a TCP client it adopted). */
function isNativePlace(client: ClientRef): client is ClientRef & NativeClientPlace {
  return client instanceof NativeClient || client instanceof NativeStreamClient;
}

/**
 * A UDP client of the native plane: its ClientRef, where the addon sees it (listener, worker,
 * address) and its sink, in one object. Every idle allocation keeps its client, so this is one
 * small object with no closures; `remote` is made when asked for (requests, not datagrams).
 */
class NativeClient implements ClientRef, ClientSink, NativeClientPlace {
  readonly transport = 'udp';
  readonly key: string;
  readonly listener: number;
  readonly worker: number;
  readonly ip: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly local: TransportAddress;
  readonly #plane: DataPlane;

  constructor(
    plane: DataPlane,
    key: string,
    packet: PassedUpPacket,
    ip: string,
    local: TransportAddress | undefined,
  ) {
    this.#plane = plane;
    this.key = key;
    this.listener = packet.id;
    this.worker = packet.worker;
    this.ip = ip;
    this.port = packet.port;
    this.family = packet.family;
    this.local = local ?? { family: packet.family, address: '0.0.0.0', port: 0 };
  }

  get remote(): TransportAddress {
    return { family: this.family, address: this.ip, port: this.port };
  }

  get sink(): ClientSink {
    return this;
  }

  send(bytes: Uint8Array): void {
    this.#plane.sendFromListener(this.listener, this.worker, this.ip, this.port, bytes);
  }

  sendChannelData(channelNumber: number, payload: Uint8Array): void {
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeUInt16BE(channelNumber, 0);
    frame.writeUInt16BE(payload.length, 2);
    frame.set(payload, 4);
    this.send(frame);
  }
}
