/**
 * RelayRouter: the TurnServer's relay sockets on both data planes. With the native plane
 * running, every relay lives in the addon (NativeUdp), whatever the client's transport; on the
 * js plane each is a `node:dgram` socket of the RelayPool. Relay ids come from one counter, so an id names one socket whichever plane owns it.
 * @module
 */
import type { TurnServerCore } from '../server-core.js';
import type { ClientRef, RelayBoundResult, RelayRequest } from '../types.js';
import type { DataPlaneChoice } from './data-plane-choice.js';
import type { Logger } from './logger.js';
import { NativeUdp } from './native-udp.js';
import { RelayPool, counter } from './relay-pool.js';
import type { PeerDatagramHandler, RelayAddress } from './relay-pool.js';
import type { ActionRunner } from './udp-listener.js';

/** Options of {@link RelayRouter}: those of RelayPool. */
export interface RelayRouterOptions {
  readonly addresses: readonly RelayAddress[];
  readonly minPort: number;
  readonly maxPort: number;
  readonly onDatagram: PeerDatagramHandler;
  /** Called for each failed send to a peer (counted by the server). */
  readonly onSendError: () => void;
}

/** RelayRouter sends each relay operation to the plane that owns the relay. */
export class RelayRouter {
  readonly #pool: RelayPool;
  readonly #ids = counter();
  readonly #options: RelayRouterOptions;
  #native: NativeUdp | undefined;
  #log: Logger | undefined;

  constructor(options: RelayRouterOptions) {
    this.#options = options;
    this.#pool = new RelayPool({ ...options, nextId: this.#ids });
  }

  /** The native data plane, once started. */
  get native(): NativeUdp | undefined {
    return this.#native;
  }

  /** Open relay sockets on both planes. */
  get size(): number {
    return this.#pool.size + (this.#native?.relaySockets ?? 0);
  }

  /**
   * Starts the native data plane when it was chosen (idempotent) and logs which plane serves
   * UDP. UDP listeners bound afterwards belong to it.
   */
  startNative(
    choice: DataPlaneChoice,
    deps: { threads: number; core: TurnServerCore; run: ActionRunner; log: Logger },
  ): void {
    if (choice.plane === 'native' && !this.#native) {
      const o = this.#options;
      this.#native = new NativeUdp({
        addon: choice.addon,
        threads: deps.threads,
        core: deps.core,
        run: deps.run,
        relayAddresses: o.addresses,
        minPort: o.minPort,
        maxPort: o.maxPort,
        nextId: this.#ids,
        onSendError: o.onSendError,
        onPeerDatagram: o.onDatagram,
      });
    }
    this.#log = deps.log;
    const threads = this.#native?.plane.threads;
    const why = choice.plane === 'js' ? choice.reason : `${threads ?? 0} worker threads`;
    deps.log.info(
      { event: 'data-plane', plane: choice.plane, mode: choice.mode, threads, reason: why },
      `udp data plane: ${choice.plane} (${why})`,
    );
  }

  /** Binds the relays of an Allocate: in the addon when the native plane runs, else dgram. */
  open(client: ClientRef, request: RelayRequest): Promise<RelayBoundResult> {
    return this.#native?.openRelay(client, request) ?? this.#pool.open(request);
  }

  /** Sends a datagram from relay `relayId` to a peer; unknown ids are ignored. */
  send(relayId: number, data: Uint8Array, port: number, address: string): void {
    if (!this.#native?.sendPeer(relayId, data, port, address))
      this.#pool.send(relayId, data, port, address);
  }

  /** Closes a relay socket; unknown ids are ignored (idempotent). */
  close(relayId: number): void {
    if (!this.#native?.closeRelay(relayId)) this.#pool.close(relayId);
  }

  /** Adds the native plane's byte counters to the core (before the core reads or ends them). */
  collectCounts(): void {
    this.#native?.collectAll();
  }

  /** Closes every relay socket and stops the native plane. */
  closeAll(): void {
    this.#pool.closeAll();
    const native = this.#native;
    if (!native) return;
    const stats = native.plane.stats();
    native.close();
    this.#log?.info({ event: 'data-plane.closed', ...stats }, 'native data plane closed');
  }
}
