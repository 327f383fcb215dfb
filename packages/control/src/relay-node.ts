/**
 * RelayNode: what the control plane needs from a TURN relay running in the same process
 * (`TurnServer` from `@cloudproxy/turn/node` satisfies it structurally). The control plane
 * installs hooks (per-app REST secrets, admission with quotas, release with final usage), reads
 * live allocations for usage metering and the console, and ends allocations on revocation.
 * @module
 */

/** Client transport of an allocation. */
export type RelayTransport = 'udp' | 'tcp' | 'tls';

/** An authenticated Allocate, as the relay describes it to the admission hook. */
export interface AllocationRequestInfo {
  /** The authenticated USERNAME, e.g. `<expiry>:<appId>:<channel>:<uid>` (percent-encoded parts). */
  readonly username: string;
  readonly transport: RelayTransport;
  readonly clientAddress: string;
  readonly clientPort: number;
}

/** The admission hook's answer: admit (optionally with a per-allocation bandwidth cap) or refuse. */
export type AdmissionDecision =
  | { readonly allow: true; readonly maxBps?: number | undefined }
  | { readonly allow: false; readonly code: 403 | 486; readonly reason: string };

/** What an allocation relayed over its life, given when it ends. */
export interface AllocationUsage {
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly durationMs: number;
}

/** Hooks the relay calls synchronously on its hot control path (never per data packet). */
export interface RelayHooks {
  /**
   * REST secrets (newest first) valid for this username, or undefined to use the relay's own
   * configured secrets. Called on every authenticated request: answer from memory.
   */
  restSecrets?(username: string): readonly string[] | undefined;
  /** Called once per authenticated Allocate before relay sockets are opened. */
  admit?(request: AllocationRequestInfo): AdmissionDecision;
  /**
   * Called exactly once for every admitted Allocate: when its allocation ends (expiry, Refresh 0,
   * client closed, revoked, shutdown) with what it relayed, or when it failed before it existed
   * (usage all zero).
   */
  release?(request: AllocationRequestInfo, usage: AllocationUsage): void;
}

/** One live allocation. */
export interface AllocationSnapshot {
  readonly username: string;
  readonly transport: RelayTransport;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly relayed: readonly { readonly address: string; readonly port: number }[];
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly permissions: number;
  readonly channels: number;
}

/** The relay as the control plane sees it. */
export interface RelayNode {
  setHooks(hooks: RelayHooks): void;
  /** Live allocations at this instant (bytes so far included). */
  listAllocations(): AllocationSnapshot[];
  /** Ends every allocation whose username matches; returns how many ended. */
  revokeAllocations(match: (username: string) => boolean): number;
}
