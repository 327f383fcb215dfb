/**
 * RelayHooks: how a control plane running in the same process steers the relay: per-app REST
 * secrets, admission of each Allocate (quotas, revocations, bandwidth caps) and the final usage
 * of each allocation. Hooks are synchronous and called on the control path only, never per data
 * packet. The relay's own checks (authentication, --user-quota, --total-quota) run first.
 * @module
 */
import type { TransportAddress } from '@cloudproxy/stun';
import type { Transport } from './types.js';

/** An authenticated Allocate, as the relay describes it to the admission hook. */
export interface AllocationRequestInfo {
  /** The authenticated USERNAME, e.g. `<expiry>:<appId>:<channel>:<uid>`. */
  readonly username: string;
  readonly transport: Transport;
  readonly clientAddress: string;
  readonly clientPort: number;
}

/** The admission hook's answer: admit (optionally with a per-allocation bandwidth cap) or refuse. */
export type AdmissionDecision =
  | {
      readonly allow: true;
      /** Bandwidth cap of this allocation in bytes per second (the lower of it and --max-bps applies). */
      readonly maxBps?: number | undefined;
    }
  | { readonly allow: false; readonly code: 403 | 486; readonly reason: string };

/** What an allocation relayed over its life, given when it ends. */
export interface AllocationUsage {
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly durationMs: number;
}

/** Hooks the relay calls synchronously on its control path. */
export interface RelayHooks {
  /**
   * REST secrets (newest first) valid for this username, or undefined to use the relay's own
   * configured secrets. Called on every authenticated request: answer from memory.
   */
  restSecrets?(username: string): readonly string[] | undefined;
  /** Called once per authenticated Allocate, before relay sockets are opened. */
  admit?(request: AllocationRequestInfo): AdmissionDecision;
  /**
   * Called exactly once for every admitted Allocate: when its allocation ends (expiry, Refresh 0,
   * client closed, revoked, shutdown) with what it relayed, or with zero usage when it failed
   * before the allocation existed.
   */
  release?(request: AllocationRequestInfo, usage: AllocationUsage): void;
  /**
   * Called once per authenticated Allocate, before admission: another server's address (of the
   * client's address family, on the client's transport) when this node is full or draining,
   * which the relay answers with 300 Try Alternate and ALTERNATE-SERVER (RFC 8489 §14.15,
   * RFC 8656 §7.2); undefined to go on here.
   */
  alternate?(request: AllocationRequestInfo): TransportAddress | undefined;
}

/** One live allocation, as listed for usage metering and operators. */
export interface AllocationSnapshot {
  readonly username: string;
  readonly transport: Transport;
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

/** The admission of an Allocate that passed, carried until its allocation ends. */
export interface Admission {
  readonly request: AllocationRequestInfo;
  /** Bandwidth cap of the allocation, bytes per second; 0 = none. */
  readonly maxBps: number;
}

/** The lower of two caps where 0 means "none". */
export function lowerCap(a: number, b: number | undefined): number {
  if (b === undefined || b <= 0) return a;
  return a === 0 ? b : Math.min(a, b);
}
