/**
 * TurnStats: plain counters the core increments and the driver exports as metrics.
 * Arrays are indexed by TRANSPORT_INDEX (udp, tcp, tls); no per-user labels.
 * @module
 */

/** TurnStats holds monotonically increasing counters and current gauges. */
export interface TurnStats {
  /** Allocations created, per client transport. */
  allocationsTotal: [number, number, number];
  /** Allocations currently alive, per client transport. */
  allocationsActive: [number, number, number];
  /** Bytes and packets relayed from clients to peers, per client transport. */
  bytesToPeer: [number, number, number];
  packetsToPeer: [number, number, number];
  /** Bytes and packets relayed from peers to clients, per client transport. */
  bytesToClient: [number, number, number];
  packetsToClient: [number, number, number];
  /** STUN requests answered with an error, by code. */
  errorResponses: Map<number, number>;
  /** Failed authentications (401/438/441 after a credentialed request). */
  authFailures: number;
  /** Inputs dropped without an answer, by reason. */
  ignored: Map<string, number>;
  /** Binding requests answered. */
  bindingRequests: number;
}

/** Returns a zeroed TurnStats. */
export function createStats(): TurnStats {
  return {
    allocationsTotal: [0, 0, 0],
    allocationsActive: [0, 0, 0],
    bytesToPeer: [0, 0, 0],
    packetsToPeer: [0, 0, 0],
    bytesToClient: [0, 0, 0],
    packetsToClient: [0, 0, 0],
    errorResponses: new Map(),
    authFailures: 0,
    ignored: new Map(),
    bindingRequests: 0,
  };
}

/** Adds one to a keyed counter. */
export function countKey<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
