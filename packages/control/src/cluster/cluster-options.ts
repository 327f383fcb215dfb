/**
 * Options of cluster mode (`ControlPlaneOptions.cluster`): Redis, this node's identity and role,
 * heartbeat and TTL, capacity, region order and the periods of the background work.
 * @module
 */
import os from 'node:os';
import { ControlError } from '../errors.js';

/** What a node runs: everything, the relay side only, or the API side only. */
export type ClusterRole = 'all' | 'relay' | 'api';

/** Cluster mode: live shared state in Redis next to PostgreSQL. */
export interface ClusterOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly redisUrl: string;
  /** Unique and stable per node (default: the host name); a restart with the same id re-syncs. */
  readonly nodeId?: string | undefined;
  readonly role?: ClusterRole | undefined;
  /** Heartbeat period (default 1000 ms). */
  readonly heartbeatMs?: number | undefined;
  /** A node not heard of for this long is gone and its leases released (default 5000 ms). */
  readonly ttlMs?: number | undefined;
  /** Most allocations this node takes before redirecting (default 0: no bound). */
  readonly capacity?: number | undefined;
  /** Regions to try, in order, when the requested one has no available node. */
  readonly regionOrder?: readonly string[] | undefined;
  /** The node's HTTPS port (the registry shows it). */
  readonly httpsPort?: number | undefined;
  /** Period of the usage roll-up into PostgreSQL on API nodes (default 5000 ms). */
  readonly rollupMs?: number | undefined;
  /** Period of the full reload of apps from PostgreSQL, the backstop of pub/sub (default 30 000 ms). */
  readonly reloadMs?: number | undefined;
  /** Period of the re-sync of this node's leases (default 300 000 ms; also after reconnects). */
  readonly resyncMs?: number | undefined;
}

/** Cluster options after defaults. */
export interface ResolvedClusterOptions {
  readonly redisUrl: string;
  readonly nodeId: string;
  readonly role: ClusterRole;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly capacity: number;
  readonly regionOrder: readonly string[];
  readonly httpsPort: number;
  readonly rollupMs: number;
  readonly reloadMs: number;
  readonly resyncMs: number;
}

function positive(name: string, value: number | undefined, fallback: number, min = 10): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < min)
    throw new ControlError(
      'ERR_CONTROL_INVALID_OPTION',
      `cluster.${name} must be ≥ ${min}, got ${v}`,
    );
  return v;
}

/** Resolves defaults; throws ERR_CONTROL_INVALID_OPTION naming the option. */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  if (!/^rediss?:\/\//.test(options.redisUrl))
    throw new ControlError(
      'ERR_CONTROL_INVALID_OPTION',
      'cluster.redisUrl must be a redis:// or rediss:// URL',
    );
  const nodeId = options.nodeId ?? os.hostname();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(nodeId))
    throw new ControlError(
      'ERR_CONTROL_INVALID_OPTION',
      `cluster.nodeId must be 1-128 of A-Z a-z 0-9 . _ -, got '${nodeId}'`,
    );
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 1000);
  const ttlMs = positive('ttlMs', options.ttlMs, 5000);
  if (ttlMs <= heartbeatMs * 2)
    throw new ControlError(
      'ERR_CONTROL_INVALID_OPTION',
      `cluster.ttlMs (${ttlMs}) must be more than twice cluster.heartbeatMs (${heartbeatMs})`,
    );
  return {
    redisUrl: options.redisUrl,
    nodeId,
    role: options.role ?? 'all',
    heartbeatMs,
    ttlMs,
    capacity: positive('capacity', options.capacity, 0, 0),
    regionOrder: options.regionOrder ?? [],
    httpsPort: options.httpsPort ?? 0,
    rollupMs: positive('rollupMs', options.rollupMs, 5000),
    reloadMs: positive('reloadMs', options.reloadMs, 30_000),
    resyncMs: positive('resyncMs', options.resyncMs, 300_000),
  };
}
