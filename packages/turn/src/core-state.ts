/**
 * CoreState: the tables of the TURN core that handlers read and change.
 * @module
 */
import type { Allocation } from './allocation.js';
import type { Authenticator, AuthSuccess } from './auth.js';
import type { Admission, AllocationUsage, RelayHooks } from './hooks.js';
import type { PeerPolicy } from './peer-policy/peer-policy.js';
import type { HandlerServices } from './request-context.js';
import { TRANSPORT_INDEX } from './types.js';
import type { ClientRef, RelayBinding, TurnAction } from './types.js';

/** An Allocate waiting for the driver to bind its relay sockets. */
export interface PendingAllocate {
  readonly requestId: number;
  readonly client: ClientRef;
  readonly auth: AuthSuccess;
  /** A copy of the request, decoded again to answer once the relay is bound. */
  readonly request: Uint8Array;
  readonly transactionKey: string;
  readonly lifetimeS: number;
  readonly admission: Admission | undefined;
}

/** A relay port reserved by EVEN-PORT R=1, claimable with its RESERVATION-TOKEN. RFC 8656 §7.2. */
export interface Reservation {
  readonly relay: RelayBinding;
  readonly expiresAtMs: number;
}

/** How long a RESERVATION-TOKEN stays valid (RFC 8656 §7.2 suggests 30 seconds). */
export const RESERVATION_LIFETIME_MS = 30_000;

const NO_USAGE: AllocationUsage = { bytesFromClient: 0, bytesToClient: 0, durationMs: 0 };

/** CoreState holds every table of the core. */
export class CoreState {
  readonly services: HandlerServices;
  auth: Authenticator;
  peerPolicy: PeerPolicy;
  /** Live allocations by client key (the 5-tuple). */
  readonly allocations = new Map<string, Allocation>();
  /** Allocation by relay id, for data arriving from peers. */
  readonly byRelay = new Map<number, Allocation>();
  /** Allocations per quota user. */
  readonly userCounts = new Map<string, number>();
  /** One copy of each quota user's name while it has allocations: they all share it. */
  readonly #userNames = new Map<string, string>();
  /** Allocations per client IP address (`--source-quota`). */
  readonly sourceCounts = new Map<string, number>();
  readonly pending = new Map<string, PendingAllocate>();
  readonly pendingById = new Map<number, PendingAllocate>();
  readonly reservations = new Map<string, Reservation>();
  /** Relay port range: the only ports of its own addresses a peer may be (relay to relay). */
  relayPorts = { min: 0, max: -1 };
  /**
   * Relay sockets of the live allocations per port (a fixed 128 KiB, where a map would grow by
   * tens of bytes per allocation): of its own addresses, a peer may be only these ports, never
   * another local program that happens to use a port of the range.
   */
  readonly liveRelayPorts = new Uint16Array(65536);
  /** While draining, new Allocates are refused (508) and existing allocations are served. */
  draining = false;
  /** The control plane's hooks (none by default). */
  hooks: RelayHooks = {};
  #nextRequestId = 1;
  /** Earliest known deadline; handleTimeout recomputes it exactly. */
  nextDeadlineMs: number | undefined;

  constructor(services: HandlerServices, auth: Authenticator, peerPolicy: PeerPolicy) {
    this.services = services;
    this.auth = auth;
    this.peerPolicy = peerPolicy;
  }

  /** A fresh correlation id for driver requests. */
  newRequestId(): number {
    return this.#nextRequestId++;
  }

  /** Records that something expires at `ms`, so the driver's timer fires by then. */
  noteDeadline(ms: number): void {
    if (this.nextDeadlineMs === undefined || ms < this.nextDeadlineMs) this.nextDeadlineMs = ms;
  }

  /** Number of allocations in total (live and pending). */
  get allocationCount(): number {
    return this.allocations.size + this.pending.size;
  }

  /** The live allocation of a client, if not expired. */
  liveAllocation(clientKey: string, nowMs: number): Allocation | undefined {
    const allocation = this.allocations.get(clientKey);
    return allocation && allocation.expiresAtMs > nowMs ? allocation : undefined;
  }

  /** Adds a new allocation to every index and the counters. */
  addAllocation(allocation: Allocation): void {
    this.allocations.set(allocation.client.key, allocation);
    for (const relay of allocation.relays) {
      this.byRelay.set(relay.relayId, allocation);
      this.#countRelayPort(relay.local.port, 1);
    }
    this.#countUser(allocation.quotaUser, 1);
    count(this.sourceCounts, allocation.client.remote.address, 1);
    const t = TRANSPORT_INDEX[allocation.client.transport];
    this.services.stats.allocationsTotal[t]++;
    this.services.stats.allocationsActive[t]++;
    this.noteDeadline(allocation.expiresAtMs);
  }

  /** Removes an allocation, closing its relays and reporting it. */
  deleteAllocation(
    allocation: Allocation,
    reason: 'expired' | 'refresh-zero' | 'client-closed' | 'shutdown' | 'revoked',
    nowMs: number,
    out: TurnAction[],
  ): void {
    if (this.allocations.get(allocation.client.key) !== allocation) return;
    this.allocations.delete(allocation.client.key);
    for (const relay of allocation.relays) {
      this.byRelay.delete(relay.relayId);
      this.#countRelayPort(relay.local.port, -1);
      out.push({ type: 'close-relay', relayId: relay.relayId });
    }
    this.#countUser(allocation.quotaUser, -1);
    count(this.sourceCounts, allocation.client.remote.address, -1);
    this.services.stats.allocationsActive[TRANSPORT_INDEX[allocation.client.transport]]--;
    const usage = {
      bytesFromClient: allocation.bytesFromClient,
      bytesToClient: allocation.bytesToClient,
      durationMs: nowMs - allocation.createdAtMs,
    };
    this.release(allocation.admission, usage);
    out.push({
      type: 'emit',
      event: {
        type: 'allocation.deleted',
        client: allocation.client,
        username: allocation.username,
        reason,
        ...usage,
      },
    });
  }

  /**
   * Removes the relay of `family` from a dual allocation (Refresh with LIFETIME 0 and
   * REQUESTED-ADDRESS-FAMILY), with the channels bound through it.
   */
  deleteRelay(allocation: Allocation, family: 4 | 6, out: TurnAction[]): void {
    const relay = allocation.relayFor(family);
    if (!relay) return;
    allocation.relays = allocation.relays.filter((r) => r !== relay);
    this.byRelay.delete(relay.relayId);
    this.#countRelayPort(relay.local.port, -1);
    for (const binding of [...allocation.channels.values()]) {
      if (binding.relay === relay) allocation.removeChannel(binding);
    }
    out.push({ type: 'close-relay', relayId: relay.relayId });
  }

  /** Gives an admission back to the control plane (once per admitted Allocate). */
  release(admission: Admission | undefined, usage: AllocationUsage = NO_USAGE): void {
    if (admission) this.hooks.release?.(admission.request, usage);
  }

  /** Forgets a pending Allocate (client gone or relay failed) and releases its admission. */
  dropPending(pending: PendingAllocate): void {
    this.pending.delete(pending.client.key);
    this.pendingById.delete(pending.requestId);
    this.release(pending.admission);
  }

  /** Allocations (live and pending) counted against `user`. */
  userCount(user: string): number {
    let pending = 0;
    for (const p of this.pending.values()) if (p.auth.quotaUser === user) pending++;
    return (this.userCounts.get(user) ?? 0) + pending;
  }

  /** Whether `port` is in the relay range and a live allocation's relay socket uses it. */
  isLiveRelayPort(port: number): boolean {
    const { min, max } = this.relayPorts;
    return port >= min && port <= max && (this.liveRelayPorts[port] ?? 0) > 0;
  }

  /** Allocations (live and pending) from the client IP `address`. */
  sourceCount(address: string): number {
    let pending = 0;
    for (const p of this.pending.values()) if (p.client.remote.address === address) pending++;
    return (this.sourceCounts.get(address) ?? 0) + pending;
  }

  /** The copy of `name` that the user's live allocations share, or `name` itself. */
  userName(name: string): string {
    return this.#userNames.get(name) ?? name;
  }

  #countRelayPort(port: number, delta: number): void {
    this.liveRelayPorts[port] = (this.liveRelayPorts[port] ?? 0) + delta;
  }

  #countUser(user: string, delta: number): void {
    count(this.userCounts, user, delta);
    if (!this.userCounts.has(user)) this.#userNames.delete(user);
    else if (!this.#userNames.has(user)) this.#userNames.set(user, user);
  }
}

/** Adds `delta` to a counter, deleting it at zero. */
function count(counts: Map<string, number>, key: string, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

/** Adds `delta` to a port counter, deleting it at zero. */
