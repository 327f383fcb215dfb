/**
 * NodeRegistry: every node's description in Redis with a heartbeat. Each beat (default every
 * second) stores `cp:node:<id>` with a TTL (default 5 s) and scores the node in `cp:nodes` with
 * Redis time; it then reaps the nodes whose last beat is older than the TTL (their leases are
 * subtracted, see `quota-scripts.ts`) and reads the live list, which placement, ALTERNATE-SERVER
 * and the allowlist table use from memory until the next beat.
 * @module
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { ClusterNodeInfo } from './placement.js';
import { HEARTBEAT, NODES_KEY, REAP, leaseKey, nodeKey } from './quota-scripts.js';

/** NodeRegistry beats for this node and keeps the last list of live nodes. */
export class NodeRegistry {
  readonly #redis: Redis;
  readonly #ttlMs: number;
  readonly #self: () => ClusterNodeInfo;
  readonly #metrics: ClusterMetrics;
  readonly #logger: Logger | undefined;
  #nodes: readonly ClusterNodeInfo[] = [];

  constructor(options: {
    redis: Redis;
    ttlMs: number;
    self: () => ClusterNodeInfo;
    metrics: ClusterMetrics;
    logger?: Logger | undefined;
  }) {
    this.#redis = options.redis;
    this.#ttlMs = options.ttlMs;
    this.#self = options.self;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
  }

  /** Live nodes as of the last beat (this node included). */
  nodes(): readonly ClusterNodeInfo[] {
    return this.#nodes;
  }

  /** One heartbeat: register, reap dead nodes, read the live list. */
  async beat(): Promise<void> {
    const self = this.#self();
    const nowMs = Number(
      await HEARTBEAT.run(
        this.#redis,
        [NODES_KEY, nodeKey(self.nodeId)],
        [self.nodeId, JSON.stringify(self), this.#ttlMs],
      ),
    );
    const cutoff = nowMs - this.#ttlMs;
    const dead = await this.#redis.zrangebyscore(NODES_KEY, '-inf', `(${cutoff}`);
    for (const nodeId of dead) await this.#reap(nodeId);
    const live = await this.#redis.zrangebyscore(NODES_KEY, cutoff, '+inf');
    const described = live.length === 0 ? [] : await this.#redis.mget(live.map(nodeKey));
    const nodes: ClusterNodeInfo[] = [];
    for (const text of described)
      if (text !== null) nodes.push(JSON.parse(text) as ClusterNodeInfo);
    this.#nodes = nodes;
    this.#metrics.nodes.reset();
    for (const n of nodes) this.#metrics.nodes.inc({ region: n.region });
  }

  /**
   * Removes this node at once (clean shutdown, after its allocations ended): the others stop
   * naming it and whatever leases are left are released.
   */
  async leave(nodeId: string): Promise<void> {
    await REAP.run(this.#redis, [NODES_KEY, leaseKey(nodeId), nodeKey(nodeId)], [nodeId, 0]);
  }

  async #reap(nodeId: string): Promise<void> {
    const dropped = Number(
      await REAP.run(
        this.#redis,
        [NODES_KEY, leaseKey(nodeId), nodeKey(nodeId)],
        [nodeId, this.#ttlMs],
      ),
    );
    if (dropped < 0) return;
    this.#metrics.reapedNodes.inc();
    this.#logger?.warn(
      { event: 'cluster.node-reaped', nodeId, leases: dropped },
      'a node stopped heartbeating: its quota leases were released',
    );
  }
}
