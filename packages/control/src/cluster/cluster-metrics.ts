/**
 * Prometheus metrics of cluster mode (prefix `cloudproxy_cluster_`): store connectivity, nodes
 * seen, quota conflicts, Redis failures, re-syncs, reaped nodes and the usage roll-up.
 * @module
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** The cluster's metrics. */
export interface ClusterMetrics {
  /** 1 while the store answers, 0 otherwise; `store` is `redis` or `postgres`. */
  readonly storeUp: Gauge<'store'>;
  /** Live nodes in the registry, by region. */
  readonly nodes: Gauge<'region'>;
  readonly quotaConflicts: Counter<'reason'>;
  readonly redisErrors: Counter<'op'>;
  readonly resyncs: Counter;
  readonly reapedNodes: Counter;
  readonly rollupRows: Counter;
  readonly rollupFailures: Counter;
  readonly alternates: Counter;
}

/** Registers the cluster metrics in `registry`. */
export function createClusterMetrics(registry: Registry): ClusterMetrics {
  const registers = [registry];
  return {
    storeUp: new Gauge({
      name: 'cloudproxy_cluster_store_up',
      help: 'Whether the shared store answers (1) or not (0), by store (redis, postgres)',
      labelNames: ['store'],
      registers,
    }),
    nodes: new Gauge({
      name: 'cloudproxy_cluster_nodes',
      help: 'Live nodes in the registry as last read, by region',
      labelNames: ['region'],
      registers,
    }),
    quotaConflicts: new Counter({
      name: 'cloudproxy_cluster_quota_conflicts_total',
      help: 'Allocations admitted here but refused by the cluster-wide count (then ended), by limit',
      labelNames: ['reason'],
      registers,
    }),
    redisErrors: new Counter({
      name: 'cloudproxy_cluster_redis_errors_total',
      help: 'Redis operations that failed, by operation',
      labelNames: ['op'],
      registers,
    }),
    resyncs: new Counter({
      name: 'cloudproxy_cluster_resyncs_total',
      help: "Re-syncs of this node's leases in Redis from its live allocations",
      registers,
    }),
    reapedNodes: new Counter({
      name: 'cloudproxy_cluster_reaped_nodes_total',
      help: 'Nodes whose heartbeat stopped and whose leases this node released',
      registers,
    }),
    rollupRows: new Counter({
      name: 'cloudproxy_cluster_rollup_rows_total',
      help: 'Usage rows written from Redis to PostgreSQL by the roll-up',
      registers,
    }),
    rollupFailures: new Counter({
      name: 'cloudproxy_cluster_rollup_failures_total',
      help: 'Roll-ups that failed (the rows are kept and retried)',
      registers,
    }),
    alternates: new Counter({
      name: 'cloudproxy_cluster_alternate_redirects_total',
      help: 'Allocates answered 300 Try Alternate (node full or draining)',
      registers,
    }),
  };
}
