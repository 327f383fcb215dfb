/**
 * NativeRelays: the relay sockets of the native data plane (of every client, whatever its
 * transport). Same port choice as RelayPool (CSPRNG over the configured range, EVEN-PORT and the
 * reservation of port+1; RFC 8656 §7.2), but the sockets belong to the addon, on the worker
 * thread that serves the client (a stream client's: any worker), and no JavaScript object is
 * kept per socket beyond one small record.
 * @module
 */
import { DataPlane } from '@cloudproxy/dataplane';
import type { TransportAddress } from '@cloudproxy/stun';
import type { RelayBinding, RelayBoundResult, RelayRequest, RelaySink } from '../types.js';
import { BIND_ATTEMPTS, bindFamilies, randomRelayPort } from './relay-pool.js';
import type { RelayAddress } from './relay-pool.js';

/** NativeRelays owns the relay sockets opened in the native data plane. */
export class NativeRelays {
  readonly #plane: DataPlane;
  readonly #addresses: readonly RelayAddress[];
  readonly #minPort: number;
  readonly #maxPort: number;
  readonly #newId: () => number;
  readonly #onSendError: () => void;
  /** Relay id → addon handle (no object per relay: the map is the only record). */
  readonly #relays = new Map<number, number>();

  constructor(options: {
    plane: DataPlane;
    addresses: readonly RelayAddress[];
    minPort: number;
    maxPort: number;
    /** Relay ids, shared with the JavaScript relay pool. */
    nextId: () => number;
    onSendError: () => void;
  }) {
    this.#plane = options.plane;
    this.#addresses = options.addresses;
    this.#minPort = options.minPort;
    this.#maxPort = options.maxPort;
    this.#newId = options.nextId;
    this.#onSendError = options.onSendError;
  }

  /** Number of open native relay sockets. */
  get size(): number {
    return this.#relays.size;
  }

  /** Binds what `request` asks for on `worker`; never throws (failures are in the result). */
  open(request: RelayRequest, worker: number): Promise<RelayBoundResult> {
    return bindFamilies(
      request,
      this.#addresses,
      (address, even, reserveNext) => this.#bindWithRetries(address, worker, even, reserveNext),
      (relayId) => {
        this.close(relayId);
      },
    );
  }

  /**
   * The handle of native relay `relayId` on `worker`, moving it there first if it lives on
   * another (a reserved socket claimed there); undefined when it is not one or cannot move.
   */
  move(relayId: number, worker: number): number | undefined {
    const handle = this.#relays.get(relayId);
    if (handle === undefined || DataPlane.workerOf(handle) === worker) return handle;
    const moved = this.#plane.moveRelay(handle, worker);
    if (moved !== undefined) this.#relays.set(relayId, moved);
    return moved;
  }

  /**
   * Sends a datagram from relay `relayId` to a peer (queued until the JavaScript turn ends:
   * {@link DataPlane.sendFromRelay}); false when it is not a native relay.
   */
  send(relayId: number, data: Uint8Array, port: number, address: string): boolean {
    const handle = this.#relays.get(relayId);
    if (handle === undefined) return false;
    if (!this.#plane.sendFromRelay(handle, address, port, data)) this.#onSendError();
    return true;
  }

  /** Closes a relay socket; false when it is not a native relay. */
  close(relayId: number): boolean {
    const handle = this.#relays.get(relayId);
    if (handle === undefined) return false;
    this.#relays.delete(relayId);
    this.#plane.closeRelay(handle);
    return true;
  }

  /** Closes every native relay socket. */
  closeAll(): void {
    for (const id of [...this.#relays.keys()]) this.close(id);
  }

  #bindWithRetries(
    address: RelayAddress,
    worker: number,
    even: boolean,
    reserveNext: boolean,
  ): { relay: RelayBinding; reserved: RelayBinding | undefined } | undefined {
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const port = randomRelayPort(this.#minPort, this.#maxPort, even);
      if (port === undefined) return undefined;
      const relay = this.#bind(address, worker, port);
      if (!relay) continue;
      if (!reserveNext) return { relay, reserved: undefined };
      const next = this.#bind(address, worker, port + 1);
      if (next) return { relay, reserved: next };
      this.close(relay.relayId);
    }
    return undefined;
  }

  #bind(address: RelayAddress, worker: number, port: number): RelayBinding | undefined {
    const relayId = this.#newId();
    const handle = this.#plane.openRelay(worker, address.bindIp, port, relayId);
    if (handle === undefined) return undefined;
    this.#relays.set(relayId, handle);
    return new NativeRelayBinding(this, relayId, address, port);
  }
}

/**
 * One native relay as the core holds it for the allocation's life: the binding and its own sink
 * in one object, with no closure, and one address object when it is advertised as bound.
 */
class NativeRelayBinding implements RelayBinding, RelaySink {
  readonly relayId: number;
  readonly local: TransportAddress;
  readonly advertised: TransportAddress;
  readonly #relays: NativeRelays;

  constructor(relays: NativeRelays, relayId: number, address: RelayAddress, port: number) {
    this.#relays = relays;
    this.relayId = relayId;
    this.local = { family: address.family, address: address.bindIp, port };
    this.advertised =
      address.advertisedIp === address.bindIp
        ? this.local
        : { family: address.family, address: address.advertisedIp, port };
  }

  get sink(): RelaySink {
    return this;
  }

  send(data: Uint8Array, port: number, address: string): void {
    this.#relays.send(this.relayId, data, port, address);
  }
}
