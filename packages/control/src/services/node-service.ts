/**
 * NodeService: this node's own state for operators: its identity and live allocations, and
 * draining (`cloudproxy node drain`): new Allocates are redirected (ALTERNATE-SERVER, cluster
 * mode) or refused (508), live allocations go on until they end or the drain times out, when the
 * rest are ended. Draining also makes `/readyz` fail and takes the node out of placement.
 * @module
 */
import type { Logger } from 'pino';
import type { RelayNode } from '../relay-node.js';

/** What `GET /api/v1/node` answers. */
export interface NodeStatus {
  readonly nodeId: string;
  readonly role: 'all' | 'relay' | 'api';
  readonly region: string;
  readonly draining: boolean;
  /** Live allocations on this node's relay (0 without one). */
  readonly allocations: number;
  /** When a drain ends the remaining allocations (ISO-8601), or null. */
  readonly drainDeadline: string | null;
}

/** NodeService drains and describes this node. */
export class NodeService {
  readonly #relay: RelayNode | undefined;
  readonly #identity: Pick<NodeStatus, 'nodeId' | 'role' | 'region'>;
  readonly #clock: () => number;
  readonly #logger: Logger | undefined;
  #deadlineMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    relay: RelayNode | undefined;
    identity: Pick<NodeStatus, 'nodeId' | 'role' | 'region'>;
    clock: () => number;
    logger?: Logger | undefined;
  }) {
    this.#relay = options.relay;
    this.#identity = options.identity;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** Whether the node is draining. */
  get draining(): boolean {
    return this.#deadlineMs !== undefined;
  }

  /** Live allocations on this node's relay. */
  allocations(): number {
    const relay = this.#relay;
    if (!relay) return 0;
    return relay.allocationCount?.() ?? relay.listAllocations().length;
  }

  /** The node's status. */
  status(): NodeStatus {
    return {
      ...this.#identity,
      draining: this.draining,
      allocations: this.allocations(),
      drainDeadline:
        this.#deadlineMs === undefined ? null : new Date(this.#deadlineMs).toISOString(),
    };
  }

  /**
   * Starts draining (or moves the deadline of a drain in progress): no new allocations; after
   * `timeoutS` the remaining ones are ended.
   */
  drain(timeoutS: number): NodeStatus {
    this.#relay?.setDraining?.(true);
    this.#deadlineMs = this.#clock() + timeoutS * 1000;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const ended = this.#relay?.revokeAllocations(() => true) ?? 0;
      this.#logger?.warn(
        { event: 'node.drain-timeout', ended },
        'drain timed out: remaining allocations ended',
      );
    }, timeoutS * 1000);
    this.#timer.unref();
    this.#logger?.info(
      { event: 'node.draining', allocations: this.allocations(), timeoutS },
      'draining: new allocations go to other nodes',
    );
    return this.status();
  }

  /** Stops draining: the node takes new allocations again. */
  resume(): NodeStatus {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadlineMs = undefined;
    this.#relay?.setDraining?.(false);
    this.#logger?.info({ event: 'node.resumed' }, 'drain cancelled: taking new allocations');
    return this.status();
  }

  /** Stops the drain timer (shutdown). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }
}
