/**
 * RelayPool binds the UDP relay sockets of allocations on random ports of the configured range,
 * honours EVEN-PORT and its reservation of port+1, and feeds peer datagrams to the core.
 * RFC 8656 §7.2 (relayed transport address), §7.2 EVEN-PORT. Ports come from a CSPRNG.
 * @module
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import type { TransportAddress } from '@cloudproxy/stun';
import type { RelayBinding, RelayBoundResult, RelayRequest, RelaySink } from '../types.js';
import { literalLookup } from './literal-lookup.js';

/** Where relays of one family bind and what they advertise. */
export interface RelayAddress {
  readonly family: 4 | 6;
  /** Address the sockets bind to (may be a wildcard). */
  readonly bindIp: string;
  /** Address put in XOR-RELAYED-ADDRESS (a concrete or external IP). */
  readonly advertisedIp: string;
}

/** Receives every datagram arriving on a relay socket. */
export type PeerDatagramHandler = (
  relayId: number,
  data: Buffer,
  address: string,
  port: number,
) => void;

/** SO_RCVBUF of a dgram relay socket (the kernel caps it at net.core.rmem_max). */
const RELAY_RECEIVE_BUFFER_BYTES = 1024 * 1024;
/** Random ports tried per relay before an Allocate fails with 508. */
export const BIND_ATTEMPTS = 40;

/** A family's bound relay, with the socket reserved on port+1 when that was asked. */
export interface BoundRelay {
  readonly relay: RelayBinding;
  readonly reserved: RelayBinding | undefined;
}

/**
 * Binds one relay per requested family through `bind` (only the first may be even and reserve
 * port+1, RFC 8656 §7.2 EVEN-PORT); when one cannot be bound, closes the others and answers
 * insufficient capacity. Shared by the JavaScript and the native relay sockets.
 */
export async function bindFamilies(
  request: RelayRequest,
  addresses: readonly RelayAddress[],
  bind: (
    address: RelayAddress,
    even: boolean,
    reserveNext: boolean,
  ) => BoundRelay | undefined | Promise<BoundRelay | undefined>,
  close: (relayId: number) => void,
): Promise<RelayBoundResult> {
  const relays: RelayBinding[] = [];
  const unsupportedFamilies: (4 | 6)[] = [];
  let reserved: RelayBinding | undefined;
  for (const [index, family] of request.families.entries()) {
    const address = addresses.find((a) => a.family === family);
    if (!address) {
      unsupportedFamilies.push(family);
      continue;
    }
    const first = index === 0;
    const bound = await bind(address, first && request.evenPort, first && request.reserveNextPort);
    if (!bound) {
      for (const relay of relays) close(relay.relayId);
      return {
        requestId: request.requestId,
        relays: [],
        unsupportedFamilies,
        insufficientCapacity: true,
      };
    }
    relays.push(bound.relay);
    reserved ??= bound.reserved;
  }
  return { requestId: request.requestId, relays, unsupportedFamilies, reserved };
}

/** A counter of relay ids: 1, 2, 3, … */
export function counter(): () => number {
  let next = 1;
  return () => next++;
}

/**
 * A port of [minPort, maxPort] from the CSPRNG, even when `even` (EVEN-PORT, RFC 8656 §7.2);
 * undefined when the range holds none.
 */
export function randomRelayPort(
  minPort: number,
  maxPort: number,
  even: boolean,
): number | undefined {
  const max = even ? maxPort - 1 : maxPort;
  if (max < minPort) return undefined;
  const port = randomInt(minPort, max + 1);
  return even && port % 2 === 1 ? (port - 1 >= minPort ? port - 1 : port + 1) : port;
}

/** A bound relay socket. */
interface RelaySocket extends RelayBinding {
  readonly socket: dgram.Socket;
}

/** RelayPool owns every relay socket. */
export class RelayPool {
  readonly #addresses: readonly RelayAddress[];
  readonly #minPort: number;
  readonly #maxPort: number;
  readonly #onDatagram: PeerDatagramHandler;
  readonly #onSendError: () => void;
  readonly #sockets = new Map<number, RelaySocket>();
  #newId: () => number = counter();

  constructor(options: {
    addresses: readonly RelayAddress[];
    minPort: number;
    maxPort: number;
    onDatagram: PeerDatagramHandler;
    /** Called for each failed send to a peer (counted by the server). */
    onSendError: () => void;
    /** Relay ids, shared with the native data plane's relays; default 1, 2, 3, … */
    nextId?: (() => number) | undefined;
  }) {
    if (options.nextId) this.#newId = options.nextId;
    this.#onSendError = options.onSendError;
    this.#addresses = options.addresses;
    this.#minPort = options.minPort;
    this.#maxPort = options.maxPort;
    this.#onDatagram = options.onDatagram;
  }

  /** Number of open relay sockets. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Binds what `request` asks for; never throws (failures are in the result). */
  open(request: RelayRequest): Promise<RelayBoundResult> {
    return bindFamilies(
      request,
      this.#addresses,
      (address, even, reserveNext) => this.#bindWithRetries(address, even, reserveNext),
      (relayId) => {
        this.close(relayId);
      },
    );
  }

  /** Sends a datagram from relay `relayId` to a peer; unknown ids are ignored. */
  send(relayId: number, data: Uint8Array, port: number, address: string): void {
    this.#sockets.get(relayId)?.socket.send(data, port, address);
  }

  /** Closes a relay socket; unknown ids are ignored (idempotent). */
  close(relayId: number): void {
    const relay = this.#sockets.get(relayId);
    if (!relay) return;
    this.#sockets.delete(relayId);
    relay.socket.close();
  }

  /** Closes every relay socket. */
  closeAll(): void {
    for (const id of [...this.#sockets.keys()]) this.close(id);
  }

  async #bindWithRetries(
    address: RelayAddress,
    even: boolean,
    reserveNext: boolean,
  ): Promise<{ relay: RelayBinding; reserved: RelayBinding | undefined } | undefined> {
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const port = this.#randomPort(even || reserveNext);
      if (port === undefined) return undefined;
      const relay = await this.#bind(address, port);
      if (!relay) continue;
      if (!reserveNext) return { relay, reserved: undefined };
      const next = await this.#bind(address, port + 1);
      if (next) return { relay, reserved: next };
      this.close(relay.relayId);
    }
    return undefined;
  }

  #randomPort(even: boolean): number | undefined {
    return randomRelayPort(this.#minPort, this.#maxPort, even);
  }

  #bind(address: RelayAddress, port: number): Promise<RelaySocket | undefined> {
    return new Promise((resolve) => {
      const socket = dgram.createSocket({
        type: address.family === 6 ? 'udp6' : 'udp4',
        ipv6Only: address.family === 6,
        lookup: literalLookup,
        // Room for a burst while the event loop is busy (the kernel default of ≈ 208 KiB holds
        // about 100 ms of a 20k msg/s stream); the memory is only used while datagrams wait.
        recvBufferSize: RELAY_RECEIVE_BUFFER_BYTES,
      });
      const onError = (): void => {
        socket.close();
        resolve(undefined);
      };
      socket.once('error', onError);
      socket.bind({ port, address: address.bindIp, exclusive: true }, () => {
        socket.off('error', onError);
        resolve(this.#register(socket, address, port));
      });
    });
  }

  #register(socket: dgram.Socket, address: RelayAddress, port: number): RelaySocket {
    const relayId = this.#newId();
    const local: TransportAddress = { family: address.family, address: address.bindIp, port };
    // Without NAT the advertised address is the bound one: one object serves both.
    const advertised: TransportAddress =
      address.advertisedIp === address.bindIp
        ? local
        : { family: address.family, address: address.advertisedIp, port };
    const relay: RelaySocket = {
      relayId,
      local,
      advertised,
      socket,
      sink: new DgramRelaySink(socket),
    };
    const onDatagram = this.#onDatagram;
    socket.on('message', (data, rinfo) => {
      onDatagram(relayId, data, rinfo.address, rinfo.port);
    });
    // A send to an unreachable peer surfaces as an async error: the socket stays usable.
    socket.on('error', this.#onSendError);
    this.#sockets.set(relayId, relay);
    return relay;
  }
}

/** Sends to peers from one relay socket (a class: no closure per socket). */
class DgramRelaySink implements RelaySink {
  readonly #socket: dgram.Socket;

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
  }

  send(data: Uint8Array, port: number, address: string): void {
    this.#socket.send(data, port, address);
  }
}
