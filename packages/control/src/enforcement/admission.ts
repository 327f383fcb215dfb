/**
 * Admission: the relay hooks of the control plane. `restSecrets` answers an app's active TURN
 * secrets from memory; `admit` enforces, in order, the app being enabled for this region and
 * transport, revocations (403) and the reservation's limits (486), and caps the allocation's
 * bandwidth from the reservation's video quality; `release` frees what `admit` counted and hands
 * the final byte counts to the usage meter. All three are synchronous and in memory, so counts
 * are exact however many Allocates arrive at once.
 * @module
 */
import { parseAppUsername } from '../credentials/rest.js';
import type { AppUsername } from '../credentials/rest.js';
import { maxBpsOf } from '../model.js';
import type { Reservation } from '../model.js';
import type { ControlMetrics } from '../metrics.js';
import type {
  AdmissionDecision,
  AllocationRequestInfo,
  AllocationUsage,
  RelayHooks,
} from '../relay-node.js';
import { allocationKey } from '../usage/meter.js';
import type { UsageMeter } from '../usage/meter.js';
import type { AppCache, CachedApp } from './app-cache.js';
import type { QuotaLease, QuotaLedger } from './quota-ledger.js';

/** At most this many live allocations per uid and channel (one per ICE candidate is typical). */
export const MAX_ALLOCATIONS_PER_UID = 16;

/** Why an Allocate was refused (the `reason` label of the refusal metrics). */
export type RefusalReason =
  | 'unknown-app'
  | 'app-disabled'
  | 'region-not-enabled'
  | 'mode-not-enabled'
  | 'revoked'
  | 'max-channels'
  | 'max-proxy-users'
  | 'max-allocations-per-uid';

type Owner = Pick<AppUsername, 'appId' | 'channel' | 'uid'>;

/** An admitted allocation: its owner, lease id and username. */
type Admitted = QuotaLease;

/** Admission holds the live counts per app, channel and uid, and implements the relay hooks. */
export class Admission {
  /** appId → channel → uid → live allocations. */
  readonly #live = new Map<string, Map<string, Map<string, number>>>();
  /** allocation key → allocations admitted under it (a stack; normally one). */
  readonly #admitted = new Map<string, Admitted[]>();
  readonly #ledger: QuotaLedger | undefined;
  readonly #cache: AppCache;
  readonly #region: string;
  readonly #clock: () => number;
  readonly #metrics: ControlMetrics;
  readonly #meter: UsageMeter;

  constructor(options: {
    cache: AppCache;
    region: string;
    clock: () => number;
    metrics: ControlMetrics;
    meter: UsageMeter;
    /** Counts shared with other nodes (cluster mode); none on a single node. */
    ledger?: QuotaLedger | undefined;
  }) {
    this.#ledger = options.ledger;
    this.#cache = options.cache;
    this.#region = options.region;
    this.#clock = options.clock;
    this.#metrics = options.metrics;
    this.#meter = options.meter;
  }

  /** The hooks to install with `relay.setHooks()`. */
  hooks(): RelayHooks {
    return {
      restSecrets: (username) => this.restSecrets(username),
      admit: (request) => this.admit(request),
      release: (request, usage) => {
        this.release(request, usage);
      },
    };
  }

  /**
   * The app's active secrets (newest first) for an app-form username; an empty list for an
   * unknown or disabled app (no credential can match); undefined for other usernames, so that
   * the relay's own secrets apply to them.
   */
  restSecrets(username: string): readonly string[] | undefined {
    const parsed = parseAppUsername(username);
    if (!parsed) return undefined;
    const cached = this.#cache.get(parsed.appId);
    if (!cached?.app.enabled) return [];
    return cached.secrets;
  }

  /** Decides an authenticated Allocate. */
  admit(request: AllocationRequestInfo): AdmissionDecision {
    const owner = parseAppUsername(request.username);
    if (!owner) return { allow: true };
    const cached = this.#cache.get(owner.appId);
    const reservation = cached?.reservations.get(this.#region);
    const refusal =
      this.#checkApp(cached, request) ??
      this.#checkRevoked(owner) ??
      this.#checkLimits(owner, reservation) ??
      this.#checkLedger(owner, reservation);
    if (refusal) {
      this.#metrics.refusals.inc({ reason: refusal.reason });
      if (refusal.code === 486) this.#metrics.quotaRefusals.inc({ reason: refusal.reason });
      return { allow: false, code: refusal.code, reason: refusal.reason };
    }
    const proxyUsers = this.#count(owner, 1);
    const key = allocationKey(request);
    const owners = this.#admitted.get(key) ?? [];
    const lease: Admitted = {
      leaseId: `${key}#${owners.length}`,
      owner: { appId: owner.appId, channel: owner.channel, uid: owner.uid },
      username: request.username,
    };
    owners.push(lease);
    this.#admitted.set(key, owners);
    this.#ledger?.admitted(lease, reservation);
    this.#meter.admitted(key, owner, request.transport, proxyUsers);
    this.#metrics.admissions.inc();
    this.#metrics.liveAllocations.inc();
    return { allow: true, maxBps: reservation ? maxBpsOf(reservation.videoQuality) : undefined };
  }

  /** Frees what `admit` counted for this allocation and records its final usage. */
  release(request: AllocationRequestInfo, usage: AllocationUsage): void {
    const key = allocationKey(request);
    const owners = this.#admitted.get(key);
    const lease = owners?.pop();
    if (!lease) return;
    if (owners?.length === 0) this.#admitted.delete(key);
    const { owner } = lease;
    this.#count(owner, -1);
    this.#ledger?.released(lease, this.#cache.get(owner.appId)?.reservations.get(this.#region));
    this.#meter.released(key, usage);
    this.#metrics.liveAllocations.dec();
  }

  /** Every allocation admitted and not yet released on this node (for a ledger re-sync). */
  leases(): QuotaLease[] {
    return [...this.#admitted.values()].flat();
  }

  /** Distinct uids with live allocations in a channel. */
  proxyUsers(appId: string, channel: string): number {
    return this.#live.get(appId)?.get(channel)?.size ?? 0;
  }

  /** Channels of an app with at least one live allocation. */
  liveChannels(appId: string): number {
    return this.#live.get(appId)?.size ?? 0;
  }

  #checkApp(cached: CachedApp | undefined, request: AllocationRequestInfo): Refusal | undefined {
    if (!cached) return { code: 403, reason: 'unknown-app' };
    const { app } = cached;
    if (!app.enabled) return { code: 403, reason: 'app-disabled' };
    if (app.regions.length > 0 && !app.regions.includes(this.#region))
      return { code: 403, reason: 'region-not-enabled' };
    const wanted = request.transport === 'udp' ? 'force-udp' : 'force-tcp';
    if (!app.modes.includes('auto') && !app.modes.includes(wanted))
      return { code: 403, reason: 'mode-not-enabled' };
    return undefined;
  }

  #checkRevoked(owner: Owner): Refusal | undefined {
    const revoked = this.#cache.revocationFor(owner.appId, owner.channel, owner.uid, this.#clock());
    return revoked ? { code: 403, reason: 'revoked' } : undefined;
  }

  #checkLimits(owner: Owner, reservation: Reservation | undefined): Refusal | undefined {
    const channels = this.#live.get(owner.appId);
    const uids = channels?.get(owner.channel);
    const held = uids?.get(owner.uid) ?? 0;
    if (held >= MAX_ALLOCATIONS_PER_UID) return { code: 486, reason: 'max-allocations-per-uid' };
    if (!reservation) return undefined;
    if (!uids && (channels?.size ?? 0) >= reservation.maxChannels)
      return { code: 486, reason: 'max-channels' };
    if (held === 0 && (uids?.size ?? 0) >= reservation.maxProxyUsersPerChannel)
      return { code: 486, reason: 'max-proxy-users' };
    return undefined;
  }

  #checkLedger(owner: Owner, reservation: Reservation | undefined): Refusal | undefined {
    const reason = this.#ledger?.refusal(owner, reservation);
    return reason ? { code: 486, reason } : undefined;
  }

  /** Adds `delta` to the owner's count; returns the channel's distinct uids afterwards. */
  #count(owner: Owner, delta: 1 | -1): number {
    let channels = this.#live.get(owner.appId);
    if (!channels) {
      channels = new Map();
      this.#live.set(owner.appId, channels);
    }
    let uids = channels.get(owner.channel);
    if (!uids) {
      uids = new Map();
      channels.set(owner.channel, uids);
    }
    const next = (uids.get(owner.uid) ?? 0) + delta;
    if (next > 0) uids.set(owner.uid, next);
    else uids.delete(owner.uid);
    const size = uids.size;
    if (size === 0) channels.delete(owner.channel);
    if (channels.size === 0) this.#live.delete(owner.appId);
    return size;
  }
}

interface Refusal {
  readonly code: 403 | 486;
  readonly reason: RefusalReason;
}
