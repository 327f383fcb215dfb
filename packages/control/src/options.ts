/**
 * Options of the control plane, resolved and validated in one place (`resolveOptions`).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { resolveClusterOptions } from './cluster/cluster-options.js';
import type { ClusterOptions, ResolvedClusterOptions } from './cluster/cluster-options.js';
import { ControlError } from './errors.js';
import type { RelayNode } from './relay-node.js';
import type { StoreOptions } from './store/open.js';

/** This node: its region, public name and addresses, and the relay's ports. */
export interface NodeOptions {
  readonly region: string;
  /** Host name (or address) put in the `turn:`/`turns:` URLs of issued credentials. */
  readonly publicHost: string;
  /** Public relay addresses a customer's firewall must allow. */
  readonly relayAddresses: readonly string[];
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly tlsPort: number;
  readonly relayPortRange: { readonly min: number; readonly max: number };
  /** Domain names used in automatic mode (default: `publicHost` when it is a name). */
  readonly domains?: readonly string[] | undefined;
}

/** Options of `createControlPlane`. */
export interface ControlPlaneOptions {
  readonly store: StoreOptions;
  /**
   * The admin bearer token (compared in constant time), or `{ sha256 }` of it. When absent, the
   * token's hash is read from the store's settings; on the very first start a token is generated,
   * only its hash stored, and the token returned once as `ControlPlane.generatedAdminToken`.
   */
  readonly adminToken?: string | { readonly sha256: string } | undefined;
  readonly node: NodeOptions;
  /** The in-process TURN relay; its hooks are installed when given. */
  readonly relay?: RelayNode | undefined;
  readonly logger?: Logger | undefined;
  /** Metrics registry (prefix `cloudproxy_control_`); a private one when absent. */
  readonly registry?: Registry | undefined;
  /** Poll of `relay.listAllocations()` for usage deltas and the bandwidth chart (default 10 000). */
  readonly usageIntervalMs?: number | undefined;
  /** Requests per minute per bearer token, or per client IP without one (default 600). */
  readonly rateLimit?: { readonly perMinute: number } | undefined;
  /** Request bodies larger than this are refused with 413 (default 65 536). */
  readonly maxBodyBytes?: number | undefined;
  /** Milliseconds since the epoch; injected by tests. */
  readonly clock?: (() => number) | undefined;
  /**
   * The console and diagnostics pages: called for `/console*` and `/diagnostics*`. When absent,
   * `src/web/index.js` is loaded if it exists.
   */
  readonly serveWeb?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /**
   * Cluster mode (docs/scaling.md): live shared state in Redis (node registry, cluster-wide
   * quotas, usage counters, change notices); use with a PostgreSQL store.
   */
  readonly cluster?: ClusterOptions | undefined;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  readonly store: StoreOptions;
  readonly adminToken: string | { readonly sha256: string } | undefined;
  readonly node: NodeOptions & { readonly domains: readonly string[] };
  readonly relay: RelayNode | undefined;
  readonly logger: Logger | undefined;
  readonly registry: Registry | undefined;
  readonly usageIntervalMs: number;
  readonly ratePerMinute: number;
  readonly maxBodyBytes: number;
  readonly clock: () => number;
  readonly serveWeb: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  readonly cluster: ResolvedClusterOptions | undefined;
}

function invalid(message: string): ControlError {
  return new ControlError('ERR_CONTROL_INVALID_OPTION', message);
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw invalid(`node.${name} must be a port 0-65535, got ${String(port)}`);
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function resolveNode(node: NodeOptions): ResolvedOptions['node'] {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(node.region))
    throw invalid(`node.region must be 1-63 of a-z 0-9 -, got '${node.region}'`);
  if (node.publicHost === '') throw invalid('node.publicHost must not be empty');
  checkPort('udpPort', node.udpPort);
  checkPort('tcpPort', node.tcpPort);
  checkPort('tlsPort', node.tlsPort);
  const { min, max } = node.relayPortRange;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max)
    throw invalid(`node.relayPortRange must be 1 ≤ min ≤ max ≤ 65535, got ${min}..${max}`);
  const domains = node.domains ?? (isIpLiteral(node.publicHost) ? [] : [node.publicHost]);
  return { ...node, domains };
}

/** Resolves defaults and validates; throws ERR_CONTROL_INVALID_OPTION naming the option. */
export function resolveOptions(options: ControlPlaneOptions): ResolvedOptions {
  const usageIntervalMs = options.usageIntervalMs ?? 10_000;
  if (!Number.isFinite(usageIntervalMs) || usageIntervalMs < 10)
    throw invalid(`usageIntervalMs must be ≥ 10, got ${usageIntervalMs}`);
  const ratePerMinute = options.rateLimit?.perMinute ?? 600;
  if (!Number.isInteger(ratePerMinute) || ratePerMinute < 1)
    throw invalid(`rateLimit.perMinute must be an integer ≥ 1, got ${ratePerMinute}`);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const { adminToken } = options;
  if (typeof adminToken === 'string' && adminToken.length < 16)
    throw invalid('adminToken must be at least 16 characters');
  if (typeof adminToken === 'object' && !/^[0-9a-fA-F]{64}$/.test(adminToken.sha256))
    throw invalid('adminToken.sha256 must be 64 hex characters (SHA-256 of the token)');
  return {
    store: options.store,
    adminToken: options.adminToken,
    node: resolveNode(options.node),
    relay: options.relay,
    logger: options.logger,
    registry: options.registry,
    usageIntervalMs,
    ratePerMinute,
    maxBodyBytes,
    clock: options.clock ?? Date.now,
    serveWeb: options.serveWeb,
    cluster: options.cluster ? resolveClusterOptions(options.cluster) : undefined,
  };
}
