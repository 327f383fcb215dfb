/**
 * ClusterRuntime: a node's part in a cluster. It owns the two Redis connections (commands and
 * pub/sub), heartbeats in the registry, applies change and quota notices, re-syncs its quota
 * leases when Redis comes back, pushes usage (relay roles) and rolls usage up into PostgreSQL
 * (API roles), reloads apps from PostgreSQL as a backstop, and watches both stores for the
 * `cloudproxy_cluster_store_up` gauge and readiness.
 *
 * Faults: commands fail fast while Redis is down (no offline queue); allocations go on,
 * admission decides from memory, usage stays pending in the meter, and on reconnect the node
 * re-asserts its leases, reloads apps and forgets the quota mirror it may have missed notices
 * for. Each fault and recovery is logged once.
 * @module
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TransportAddress } from '@cloudproxy/stun';
import type { Admission } from '../enforcement/admission.js';
import type { AppCache } from '../enforcement/app-cache.js';
import type { ResolvedOptions } from '../options.js';
import type { AllocationRequestInfo, RelayNode } from '../relay-node.js';
import type { Store } from '../store/open.js';
import type { UsageRepo } from '../store/usage-repo.js';
import type { UsageRow } from '../model.js';
import { parseAppUsername } from '../credentials/rest.js';
import { EVENTS_CHANNEL, parseChangeNotice } from './cluster-events.js';
import type { ChangeNotice } from './cluster-events.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import { ClusterQuota } from './cluster-quota.js';
import type { QuotaNotice } from './cluster-quota.js';
import { NodeRegistry } from './node-registry.js';
import { alternateFor, placeNode } from './placement.js';
import type { ClusterNodeInfo } from './placement.js';
import { QUOTA_CHANNEL } from './quota-scripts.js';
import { UsageRollup, pushUsage } from './usage-sync.js';

/** What the runtime works with. */
export interface ClusterDeps {
  readonly options: ResolvedClusterOptions;
  readonly node: ResolvedOptions['node'];
  readonly relay: RelayNode | undefined;
  readonly cache: AppCache;
  readonly store: Store;
  readonly usage: UsageRepo;
  readonly metrics: ClusterMetrics;
  readonly logger: Logger | undefined;
  /** Whether this node is draining (`node drain`). */
  readonly draining: () => boolean;
}

/** At most this many change notices wait for Redis (beyond, the periodic reload covers them). */
const MAX_UNPUBLISHED = 1000;

function connection(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 1000),
  });
}

function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A node's cluster runtime. Create with `ClusterRuntime.connect()`, then `start(admission)`. */
export class ClusterRuntime {
  readonly redis: Redis;
  readonly #sub: Redis;
  readonly #deps: ClusterDeps;
  readonly quota: ClusterQuota | undefined;
  readonly #registry: NodeRegistry;
  readonly #rollup: UsageRollup | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  #admission: Admission | undefined;
  #postgresUp = true;
  /** Change notices that could not be published while Redis was unreachable. */
  readonly #unpublished: ChangeNotice[] = [];
  #closed: Promise<void> | undefined;

  private constructor(deps: ClusterDeps) {
    const { options, metrics, logger, relay } = deps;
    this.#deps = deps;
    this.redis = connection(options.redisUrl);
    this.#sub = connection(options.redisUrl);
    this.quota =
      relay && options.role !== 'api'
        ? new ClusterQuota({
            redis: this.redis,
            nodeId: options.nodeId,
            region: deps.node.region,
            metrics,
            logger,
            end: (username) => relay.revokeAllocations((u) => u === username),
          })
        : undefined;
    this.#registry = new NodeRegistry({
      redis: this.redis,
      ttlMs: options.ttlMs,
      self: () => this.self(),
      metrics,
      logger,
    });
    this.#rollup =
      options.role === 'relay'
        ? undefined
        : new UsageRollup({ redis: this.redis, repo: deps.usage });
  }

  /** Connects to Redis (waiting up to 5 s; later it keeps retrying in the background). */
  static async connect(deps: ClusterDeps): Promise<ClusterRuntime> {
    const runtime = new ClusterRuntime(deps);
    await runtime.#connect();
    return runtime;
  }

  async #connect(): Promise<void> {
    const { metrics, logger } = this.#deps;
    metrics.storeUp.set({ store: 'redis' }, 0);
    metrics.storeUp.set({ store: 'postgres' }, 1);
    let down = false;
    this.redis.on('ready', () => {
      metrics.storeUp.set({ store: 'redis' }, 1);
      if (down) logger?.info({ event: 'cluster.redis-up' }, 'redis answers again; re-syncing');
      down = false;
      this.#onRedisReady();
      this.#republish();
    });
    this.redis.on('close', () => {
      metrics.storeUp.set({ store: 'redis' }, 0);
      if (!down && this.#closed === undefined)
        logger?.error(
          { event: 'cluster.redis-down' },
          'redis is unreachable: live allocations go on, admission uses the last known counts',
        );
      down = true;
    });
    this.redis.on('error', () => undefined);
    this.#sub.on('error', () => undefined);
    this.#sub.on('ready', () => {
      this.quota?.forgetAll();
      this.#reload();
    });
    this.#sub.on('message', (channel: string, text: string) => {
      this.#message(channel, text);
    });
    this.redis.connect().catch(() => undefined);
    this.#sub.connect().catch(() => undefined);
    await Promise.all([waitReady(this.redis, 5000), waitReady(this.#sub, 5000)]);
    await this.#sub.subscribe(EVENTS_CHANNEL, QUOTA_CHANNEL).catch(() => undefined);
  }

  /** Starts the background work; `admission` gives the live leases for re-syncs. */
  start(admission: Admission): void {
    this.#admission = admission;
    const { options } = this.#deps;
    const every = (ms: number, work: () => Promise<unknown>, op: string): void => {
      const timer = setInterval(() => {
        work().catch((error: unknown) => {
          this.#failed(op, error);
        });
      }, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(options.heartbeatMs, () => this.#beat(), 'heartbeat');
    every(options.heartbeatMs * 5, () => this.#pingPostgres(), 'postgres-ping');
    every(options.reloadMs, () => this.#deps.cache.load(), 'reload');
    if (this.quota) every(options.resyncMs, () => this.resync(), 'resync');
    if (this.#rollup) every(options.rollupMs, () => this.rollup(), 'rollup');
    if (this.redis.status === 'ready') this.#onRedisReady();
  }

  /** This node as it registers itself. */
  self(): ClusterNodeInfo {
    const { options, node, relay } = this.#deps;
    const isRelay = relay !== undefined && options.role !== 'api';
    return {
      nodeId: options.nodeId,
      role: options.role,
      region: node.region,
      publicHost: node.publicHost,
      relayAddresses: isRelay ? node.relayAddresses : [],
      domains: node.domains,
      ports: { udp: node.udpPort, tcp: node.tcpPort, tls: node.tlsPort, https: options.httpsPort },
      relayPortRange: node.relayPortRange,
      capacity: options.capacity,
      load: this.load(),
      draining: this.#deps.draining(),
      updatedAtMs: Date.now(),
    };
  }

  /** Live allocations on this node's relay. */
  load(): number {
    const { relay } = this.#deps;
    if (!relay) return 0;
    return relay.allocationCount?.() ?? relay.listAllocations().length;
  }

  /** Live nodes as of the last heartbeat. */
  nodes(): readonly ClusterNodeInfo[] {
    return this.#registry.nodes();
  }

  /** The node credentials for `region` name, or undefined when none is available. */
  place(region: string): ClusterNodeInfo | undefined {
    return placeNode(this.nodes(), region, this.#deps.options.regionOrder);
  }

  /** The relay hook: another node for an Allocate this node will not take (full or draining). */
  alternate(request: AllocationRequestInfo): TransportAddress | undefined {
    const { options, node } = this.#deps;
    const full = options.capacity > 0 && this.load() >= options.capacity;
    if (!full && !this.#deps.draining()) return undefined;
    const plain = request.clientAddress.replace(/^::ffff:(?=\d+\.)/, '');
    const alternate = alternateFor(
      this.nodes(),
      { nodeId: options.nodeId, region: node.region },
      options.regionOrder,
      { transport: request.transport, family: plain.includes(':') ? 6 : 4 },
    );
    if (alternate) this.#deps.metrics.alternates.inc();
    return alternate;
  }

  /** Whether Redis and PostgreSQL answered at the last check. */
  health(): { redis: boolean; postgres: boolean } {
    return { redis: this.redis.status === 'ready', postgres: this.#postgresUp };
  }

  /** Publishes that an app changed (after the write to PostgreSQL). */
  publishApp(appId: string): void {
    this.#publish({ t: 'app', o: this.#deps.options.nodeId, a: appId });
  }

  /** Publishes a revocation (after the write to PostgreSQL). */
  publishRevoke(appId: string, channel: string, uid: string | undefined): void {
    const notice: ChangeNotice = {
      t: 'revoke',
      o: this.#deps.options.nodeId,
      a: appId,
      c: channel,
    };
    this.#publish(uid === undefined ? notice : { ...notice, u: uid });
  }

  /** Pushes usage deltas to Redis (relay roles); rejects when Redis does not take them. */
  pushUsage(rows: readonly UsageRow[]): Promise<void> {
    return pushUsage(this.redis, rows);
  }

  /** One usage roll-up into PostgreSQL, when this node rolls up and holds the lock. */
  async rollup(): Promise<number> {
    if (!this.#rollup) return 0;
    try {
      const rows = await this.#rollup.run();
      if (rows > 0) this.#deps.metrics.rollupRows.inc(rows);
      return rows;
    } catch (error) {
      this.#deps.metrics.rollupFailures.inc();
      throw error;
    }
  }

  /** Replaces this node's quota leases in Redis with its live allocations. */
  async resync(): Promise<void> {
    if (!this.quota || !this.#admission) return;
    const dropped = await this.quota.resync(this.#admission.leases());
    this.#deps.logger?.debug({ event: 'cluster.resynced', dropped }, 'quota leases re-synced');
  }

  /** Stops the background work, leaves the registry, closes Redis. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const timer of this.#timers) clearInterval(timer);
      if (this.redis.status === 'ready') {
        await this.#registry.leave(this.#deps.options.nodeId).catch(() => undefined);
      }
      this.redis.disconnect();
      this.#sub.disconnect();
    })();
    return this.#closed;
  }

  async #beat(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    if (this.quota?.needsResync === true) await this.resync();
    await this.#registry.beat();
  }

  async #pingPostgres(): Promise<void> {
    const wasUp = this.#postgresUp;
    try {
      await this.#deps.store.ping();
      this.#postgresUp = true;
    } catch (error) {
      this.#postgresUp = false;
      if (wasUp)
        this.#deps.logger?.error(
          { event: 'cluster.postgres-down', err: error },
          'postgres is unreachable: serving apps and secrets from memory',
        );
    }
    if (this.#postgresUp && !wasUp)
      this.#deps.logger?.info({ event: 'cluster.postgres-up' }, 'postgres answers again');
    this.#deps.metrics.storeUp.set({ store: 'postgres' }, this.#postgresUp ? 1 : 0);
  }

  #onRedisReady(): void {
    if (!this.#admission) return;
    this.resync()
      .then(() => this.#registry.beat())
      .catch((error: unknown) => {
        this.#failed('resync', error);
      });
  }

  #reload(): void {
    this.#deps.cache.load().catch((error: unknown) => {
      this.#failed('reload', error);
    });
  }

  #publish(notice: ChangeNotice): void {
    this.redis.publish(EVENTS_CHANNEL, JSON.stringify(notice)).catch((error: unknown) => {
      // Sent again when Redis answers: a node whose subscription never dropped would otherwise
      // miss it until the periodic reload (notices are idempotent, duplicates are harmless).
      if (this.#unpublished.length < MAX_UNPUBLISHED) this.#unpublished.push(notice);
      this.#failed('publish', error);
    });
  }

  #republish(): void {
    for (const notice of this.#unpublished.splice(0)) this.#publish(notice);
  }

  #message(channel: string, text: string): void {
    if (channel === QUOTA_CHANNEL) {
      try {
        this.quota?.notice(JSON.parse(text) as QuotaNotice);
      } catch (error) {
        this.#failed('quota-notice', error);
      }
      return;
    }
    const notice = parseChangeNotice(text);
    if (!notice) {
      this.#deps.logger?.warn({ event: 'cluster.bad-notice' }, 'malformed change notice ignored');
      return;
    }
    if (notice.o === this.#deps.options.nodeId) return;
    this.#apply(notice).catch((error: unknown) => {
      this.#failed('notice', error);
    });
  }

  async #apply(notice: ChangeNotice): Promise<void> {
    const { cache, relay } = this.#deps;
    await cache.refreshQuietly(notice.a);
    this.quota?.forgetApp(notice.a);
    if (!relay) return;
    const app = cache.get(notice.a)?.app;
    if (notice.t === 'app') {
      if (app?.enabled !== true)
        relay.revokeAllocations((u) => parseAppUsername(u)?.appId === notice.a);
      return;
    }
    relay.revokeAllocations((u) => {
      const owner = parseAppUsername(u);
      return (
        owner?.appId === notice.a &&
        owner.channel === notice.c &&
        (notice.u === undefined || owner.uid === notice.u)
      );
    });
  }

  #failed(op: string, error: unknown): void {
    this.#deps.metrics.redisErrors.inc({ op });
    if (this.redis.status === 'ready' || op === 'reload' || op === 'postgres-ping')
      this.#deps.logger?.warn({ event: 'cluster.failed', op, err: error }, `cluster ${op} failed`);
  }
}
