/**
 * QuotaLedger: where `Admission` shares its counts beyond this process. A single node has none
 * (its in-memory counts are the whole truth); a cluster node counts in Redis
 * (`cluster/cluster-quota.ts`). The hooks stay synchronous: `refusal` answers from what the
 * ledger already knows, `admitted`/`released` are recorded in the background.
 * @module
 */
import type { Reservation } from '../model.js';

/** Who holds an allocation. */
export interface QuotaOwner {
  readonly appId: string;
  readonly channel: string;
  readonly uid: string;
}

/** An allocation counted by `Admission`, as a ledger sees it. */
export interface QuotaLease {
  /** Unique among this node's live allocations. */
  readonly leaseId: string;
  readonly owner: QuotaOwner;
  /** The authenticated username (to end the allocation if the ledger later refuses it). */
  readonly username: string;
}

/** Why the ledger refuses. */
export type LedgerRefusal = 'max-channels' | 'max-proxy-users' | 'max-allocations-per-uid';

/** A ledger shared by several nodes. */
export interface QuotaLedger {
  /**
   * A refusal from what is known of the other nodes (synchronous, in memory), or undefined.
   */
  refusal(owner: QuotaOwner, reservation: Reservation | undefined): LedgerRefusal | undefined;
  /** Records an admitted allocation (in the background). */
  admitted(lease: QuotaLease, reservation: Reservation | undefined): void;
  /** Records the end of an allocation (in the background). */
  released(lease: QuotaLease, reservation: Reservation | undefined): void;
}
