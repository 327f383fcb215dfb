/**
 * NativeFlows keeps the native data plane's forwarding table equal to the core's state for each
 * client the addon serves (UDP, and TCP and TLS clients it adopted): after every message of a
 * client that JavaScript handled (requests included, `handle`), the client's allocation (relays, expiry, live permissions, channels) is written to the table as a
 * whole, or removed. Between two such writes the core cannot change (only the client's own
 * requests change it; expiry is a deadline the addon checks itself), so the fast path decides
 * exactly as the core would. Allocations with a bandwidth cap, or relays on another worker (a
 * reserved EVEN-PORT socket), are not written: their datagrams take the JavaScript path.
 *
 * Byte counters: the addon counts what it relays per allocation; they are added to the core
 * before any core call that may end the allocation (see TurnServer) and every second.
 * @module
 */
import { MAX_NATIVE_CHANNELS, MAX_NATIVE_PERMISSIONS } from '@cloudproxy/dataplane';
import type {
  DataPlane,
  NativeAllocation,
  NativeChannel,
  NativeCounts,
  NativePermission,
} from '@cloudproxy/dataplane';
import type { Allocation } from '../allocation.js';
import type { TurnServerCore } from '../server-core.js';
import type { ClientRef } from '../types.js';
import type { NativeRelays } from './native-relays.js';
import { forwardChannelData } from './udp-listener.js';
import type { ActionRunner } from './udp-listener.js';

/** Where a client of the native plane is: listener, worker thread, address (or stream). */
export interface NativeClientPlace {
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly listener: number;
  readonly worker: number;
  readonly ip: string;
  readonly port: number;
  /** A TCP client's stream handle (then listener, ip and port are not used). */
  readonly stream?: number | undefined;
}

interface Entry {
  readonly handle: number;
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly relayIds: readonly number[];
  /** The allocation's expiry when it was last written (core clock). */
  expiresAtMs: number;
}

/** The method of a STUN message type (RFC 5389 §6: the class bits C0 and C1 taken out). */
function stunMethod(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

/** STUN methods whose request may end an allocation (RFC 8656 §7.2, §7.3). */
const ALLOCATE = 0x003;
const REFRESH = 0x004;

/** NativeFlows mirrors allocations of native clients (UDP, TCP, TLS) into the forwarding table. */
export class NativeFlows {
  readonly #plane: DataPlane;
  readonly #core: TurnServerCore;
  readonly #relays: NativeRelays;
  readonly #byClient = new Map<string, Entry>();
  readonly #clientByHandle = new Map<number, string>();
  readonly #clientByRelay = new Map<number, string>();

  constructor(plane: DataPlane, core: TurnServerCore, relays: NativeRelays) {
    this.#plane = plane;
    this.#core = core;
    this.#relays = relays;
  }

  /** Allocations currently on the fast path. */
  get size(): number {
    return this.#byClient.size;
  }

  /**
   * A client's message that the fast path passed up, through the core as on the JavaScript
   * path. ChannelData it did not relay (no entry, a cap, an expired permission) goes to its
   * channel. Only requests change an allocation (RFC 8656 §7-§12): the native counts are
   * collected before one (a Refresh may end the allocation) and the entry is mirrored after.
   * `client` is made only for a STUN message.
   */
  handle(
    key: string,
    data: Buffer,
    client: () => ClientRef & NativeClientPlace,
    run: ActionRunner,
  ): void {
    const first = data[0] ?? 0;
    if (first >= 0x40 && first <= 0x7f) {
      forwardChannelData(this.#core, key, data);
      return;
    }
    const type = (first << 8) | (data[1] ?? 0);
    const request = first < 0x40 && (type & 0x0110) === 0;
    const ref = client();
    if (request) this.#collectBefore(key, stunMethod(type));
    run(this.#core.handleClientPacket(ref, data));
    if (request) this.#sync(key, ref);
  }

  /**
   * Before the core handles a request of method `method`: adds the client's native counts to
   * the core when the request may end the allocation (Allocate, Refresh, or any request once
   * the allocation has expired). Other requests leave it in place; their counts come later.
   */
  #collectBefore(clientKey: string, method: number): void {
    const entry = this.#byClient.get(clientKey);
    if (!entry) return;
    if (method === ALLOCATE || method === REFRESH || entry.expiresAtMs <= this.#core.nowMs()) {
      this.#add(clientKey, entry, this.#plane.take(entry.handle));
    }
  }

  /** Adds what every allocation relayed natively to the core, in one call. */
  collectAll(): void {
    this.#plane.takeAll((handle, counts) => {
      const clientKey = this.#clientByHandle.get(handle);
      const entry = clientKey === undefined ? undefined : this.#byClient.get(clientKey);
      this.#add(clientKey ?? '', entry, counts);
    });
  }

  /** Writes (or removes) the client's entry from the core's current state. */
  #sync(clientKey: string, place: NativeClientPlace): void {
    const old = this.#byClient.get(clientKey);
    const allocation = this.#core.liveAllocation(clientKey);
    // A reserved EVEN-PORT relay may sit on another worker: it moves to the client's.
    const relays = allocation?.relays.map((r) => this.#relays.move(r.relayId, place.worker)) ?? [];
    const handles = relays.flatMap((h) => (h === undefined ? [] : [h]));
    const handle =
      allocation && isFastPathAllocation(allocation) && handles.length === relays.length
        ? this.#plane.program(toEntry(allocation, place, handles, this.#core.nowMs()), old?.handle)
        : undefined;
    if (old && old.handle !== handle) this.#remove(clientKey, old);
    if (!allocation || handle === undefined) return;
    if (old?.handle === handle) {
      old.expiresAtMs = allocation.expiresAtMs;
      return;
    }
    const relayIds = allocation.relays.map((r) => r.relayId);
    this.#byClient.set(clientKey, {
      handle,
      transport: place.transport,
      relayIds,
      expiresAtMs: allocation.expiresAtMs,
    });
    this.#clientByHandle.set(handle, clientKey);
    for (const id of relayIds) this.#clientByRelay.set(id, clientKey);
  }

  /** A relay is closing: the entry using it is removed (its final counts collected first). */
  relayClosing(relayId: number): void {
    const clientKey = this.#clientByRelay.get(relayId);
    const entry = clientKey === undefined ? undefined : this.#byClient.get(clientKey);
    if (clientKey !== undefined && entry) this.#remove(clientKey, entry);
  }

  #remove(clientKey: string, entry: Entry): void {
    this.#byClient.delete(clientKey);
    this.#clientByHandle.delete(entry.handle);
    for (const id of entry.relayIds) this.#clientByRelay.delete(id);
    this.#add(clientKey, entry, this.#plane.unprogram(entry.handle));
  }

  #add(clientKey: string, entry: Entry | undefined, counts: NativeCounts | undefined): void {
    if (!counts || (counts.fromClientPackets === 0 && counts.toClientPackets === 0)) return;
    this.#core.addRelayedCounts(clientKey, counts, entry?.transport ?? 'udp');
  }
}

/** Whether the fast path may relay for an allocation: no bandwidth cap, table limits. */
function isFastPathAllocation(allocation: Readonly<Allocation>): boolean {
  return (
    allocation.maxBps === 0 &&
    allocation.relays.length > 0 &&
    allocation.permissions.size <= MAX_NATIVE_PERMISSIONS &&
    allocation.channels.size <= MAX_NATIVE_CHANNELS
  );
}

/** The addon's entry for an allocation: live permissions, every channel, times as TTLs. */
function toEntry(
  allocation: Readonly<Allocation>,
  place: NativeClientPlace,
  relays: readonly number[],
  nowMs: number,
): NativeAllocation {
  const permissions: NativePermission[] = [];
  for (const p of allocation.permissions.values()) {
    const ttlMs = p.expiresAtMs - nowMs;
    if (ttlMs > 0) permissions.push({ ip: p.ip, ttlMs, relayPortsOnly: p.relayPortsOnly });
  }
  // Expired bindings are written too (TTL 0): their peer stays held (RFC 8656 §12), so the fast
  // path hands its datagrams up instead of sending Data indications.
  const channels: NativeChannel[] = [];
  for (const c of allocation.channels.values()) {
    const ttlMs = Math.max(0, c.expiresAtMs - nowMs);
    channels.push({ number: c.channelNumber, ip: c.peer.address, port: c.peer.port, ttlMs });
  }
  return {
    worker: place.worker,
    stream: place.stream,
    listener: place.listener,
    clientIp: place.ip,
    clientPort: place.port,
    relays,
    ttlMs: Math.max(0, allocation.expiresAtMs - nowMs),
    permissions,
    channels,
  };
}
