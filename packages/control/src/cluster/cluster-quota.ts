/**
 * ClusterQuota: the QuotaLedger of a cluster node. Redis holds the authoritative counts (the
 * scripts of `quota-scripts.ts`); the node decides each Allocate synchronously from its own
 * counts plus a mirror of which apps and channels are full cluster-wide (pushed by the scripts
 * on `cp:quota`), then records the allocation in Redis. When Redis refuses it after all (two
 * nodes took the last place in the same instant), the allocation is ended at once and counted in
 * `cloudproxy_cluster_quota_conflicts_total`.
 *
 * While Redis is unreachable the node keeps deciding from the last known full states and its own
 * counts; its writes fail and are not retried one by one: when Redis is back, `resync()` replaces
 * all of the node's leases with its live allocations in one script.
 * @module
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type {
  LedgerRefusal,
  QuotaLease,
  QuotaLedger,
  QuotaOwner,
} from '../enforcement/quota-ledger.js';
import { MAX_ALLOCATIONS_PER_UID } from '../enforcement/admission.js';
import type { Reservation } from '../model.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import { ADMIT, RELEASE, RESYNC, channelsKey, leaseKey, uidsKey } from './quota-scripts.js';

/** A notice published by the quota scripts. */
export interface QuotaNotice {
  readonly k: 'app' | 'ch' | 'reset';
  readonly r: string;
  readonly a: string;
  readonly c?: string;
  readonly full?: boolean;
  /** Members (channels of a full app, uids of a full channel); Redis encodes `{}` for none. */
  readonly m?: readonly string[] | Record<string, never>;
}

function appKey(region: string, appId: string): string {
  return `${region}\n${appId}`;
}

function limitsOf(reservation: Reservation | undefined): [number, number] {
  return reservation ? [reservation.maxChannels, reservation.maxProxyUsersPerChannel] : [-1, -1];
}

/** ClusterQuota counts allocations in Redis and mirrors the full states in memory. */
export class ClusterQuota implements QuotaLedger {
  readonly #redis: Redis;
  readonly #nodeId: string;
  readonly #region: string;
  readonly #metrics: ClusterMetrics;
  readonly #logger: Logger | undefined;
  readonly #end: (username: string) => void;
  /** A write failed: the leases in Redis may be wrong until the next `resync()`. */
  needsResync = false;
  /** region\nappId → live channels of a full app. */
  readonly #fullApps = new Map<string, ReadonlySet<string>>();
  /** region\nappId → channel → uids of a full channel. */
  readonly #fullChannels = new Map<string, Map<string, ReadonlySet<string>>>();

  constructor(options: {
    redis: Redis;
    nodeId: string;
    region: string;
    metrics: ClusterMetrics;
    logger?: Logger | undefined;
    /** Ends the live allocations of a username (a lease Redis refused). */
    end: (username: string) => void;
  }) {
    this.#redis = options.redis;
    this.#nodeId = options.nodeId;
    this.#region = options.region;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#end = options.end;
  }

  refusal(owner: QuotaOwner, reservation: Reservation | undefined): LedgerRefusal | undefined {
    if (!reservation) return undefined;
    const key = appKey(this.#region, owner.appId);
    const channels = this.#fullApps.get(key);
    if (channels && !channels.has(owner.channel)) return 'max-channels';
    const uids = this.#fullChannels.get(key)?.get(owner.channel);
    if (uids && !uids.has(owner.uid)) return 'max-proxy-users';
    return undefined;
  }

  admitted(lease: QuotaLease, reservation: Reservation | undefined): void {
    ADMIT.run(this.#redis, this.#keys(lease.owner), [
      ...this.#leaseArgs(lease, reservation),
      MAX_ALLOCATIONS_PER_UID,
    ]).then(
      (result) => {
        if (!Array.isArray(result) || result[0] === 1) return;
        const { appId, channel } = lease.owner;
        this.#metrics.quotaConflicts.inc({ reason: String(result[1]) });
        this.#logger?.warn(
          { event: 'cluster.quota-conflict', appId, channel, reason: result[1] },
          'another node took the last place first: allocation ended',
        );
        this.#end(lease.username);
      },
      (error: unknown) => {
        this.#failed('admit', error);
      },
    );
  }

  released(lease: QuotaLease, reservation: Reservation | undefined): void {
    RELEASE.run(this.#redis, this.#keys(lease.owner), this.#leaseArgs(lease, reservation)).catch(
      (error: unknown) => {
        this.#failed('release', error);
      },
    );
  }

  /** Replaces this node's leases in Redis with `live` (after a reconnect, and periodically). */
  async resync(live: readonly QuotaLease[]): Promise<number> {
    const args: string[] = [];
    for (const l of live)
      args.push(
        l.leaseId,
        JSON.stringify([this.#region, l.owner.appId, l.owner.channel, l.owner.uid]),
      );
    const dropped = Number(await RESYNC.run(this.#redis, [leaseKey(this.#nodeId)], args));
    this.#metrics.resyncs.inc();
    this.needsResync = false;
    return dropped;
  }

  /** Applies a notice from `cp:quota`. */
  notice(n: QuotaNotice): void {
    const key = appKey(n.r, n.a);
    const members = new Set(Array.isArray(n.m) ? n.m : []);
    switch (n.k) {
      case 'app':
        if (n.full === true) this.#fullApps.set(key, members);
        else this.#fullApps.delete(key);
        return;
      case 'ch': {
        if (n.c === undefined) return;
        let channels = this.#fullChannels.get(key);
        if (n.full === true) {
          if (!channels)
            this.#fullChannels.set(key, (channels = new Map<string, ReadonlySet<string>>()));
          channels.set(n.c, members);
        } else {
          channels?.delete(n.c);
          if (channels?.size === 0) this.#fullChannels.delete(key);
        }
        return;
      }
      case 'reset':
        this.forgetApp(n.a);
        return;
    }
  }

  /** Forgets the full states of an app (its reservation changed; a node was re-synced). */
  forgetApp(appId: string): void {
    for (const map of [this.#fullApps, this.#fullChannels])
      for (const key of map.keys()) if (key.endsWith(`\n${appId}`)) map.delete(key);
  }

  /** Forgets every full state (notices may have been missed while disconnected). */
  forgetAll(): void {
    this.#fullApps.clear();
    this.#fullChannels.clear();
  }

  /** ARGV[1..7] shared by ADMIT and RELEASE: lease, owner and the reservation's limits (-1: none). */
  #leaseArgs(lease: QuotaLease, reservation: Reservation | undefined): (string | number)[] {
    const { appId, channel, uid } = lease.owner;
    return [lease.leaseId, this.#region, appId, channel, uid, ...limitsOf(reservation)];
  }

  #keys(owner: QuotaOwner): string[] {
    return [
      channelsKey(this.#region, owner.appId),
      uidsKey(this.#region, owner.appId, owner.channel),
      leaseKey(this.#nodeId),
    ];
  }

  #failed(op: string, error: unknown): void {
    this.needsResync = true;
    this.#metrics.redisErrors.inc({ op });
    this.#logger?.warn(
      { event: 'cluster.redis-failed', op, err: error },
      'redis write failed; the lease is re-asserted when redis answers again',
    );
  }
}
