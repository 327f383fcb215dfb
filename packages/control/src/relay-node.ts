/**
 * RelayNode: what the control plane needs from a TURN relay running in the same process.
 * `TurnServer` from `@cloudproxy/turn/node` satisfies it. The control plane installs hooks
 * (per-app REST secrets, admission with quotas, release with final usage), reads live
 * allocations for usage metering and the console, and ends allocations on revocation.
 * The hook and snapshot types are the relay's own (`@cloudproxy/turn`, type-only import).
 * @module
 */
import type { AllocationSnapshot, RelayHooks } from '@cloudproxy/turn';

export type {
  AdmissionDecision,
  AllocationRequestInfo,
  AllocationSnapshot,
  AllocationUsage,
  RelayHooks,
  Transport as RelayTransport,
} from '@cloudproxy/turn';

/** The relay as the control plane sees it. */
export interface RelayNode {
  setHooks(hooks: RelayHooks): void;
  /** Live allocations at this instant (bytes so far included). */
  listAllocations(): AllocationSnapshot[];
  /** Ends every allocation whose username matches; returns how many ended. */
  revokeAllocations(match: (username: string) => boolean): number;
  /** Live allocations now, without listing them (the node's load in cluster mode). */
  allocationCount?(): number;
  /**
   * Stops (true) or resumes (false) taking new allocations; live ones go on (`node drain`).
   * Without it, a draining node only stops being named in credentials and redirects Allocates.
   */
  setDraining?(draining: boolean): void;
}
